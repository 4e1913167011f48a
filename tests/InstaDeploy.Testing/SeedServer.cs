using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InstaDeploy.Testing;

/// <summary>
/// A control plane written from the seed README alone, sharing no code with ours: it accepts one agent on
/// <c>/ws</c> when the bearer token matches (401 otherwise), records the handshake headers, sends commands it is
/// told to send as <c>{"id","type","payload"}</c>, and collects every message the agent sends back.
/// </summary>
public sealed class SeedServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _token;
    private readonly TaskCompletionSource<WebSocket> _agent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly string? _features;

    private SeedServer(string token, string? features)
    {
        _token = token;
        _features = features;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.UseWebSockets();
        _app.Map("/ws", HandleAsync);
    }

    public ConcurrentQueue<JsonElement> Received { get; } = new();

    public Dictionary<string, string> HandshakeHeaders { get; } = [];

    public Uri Url { get; private set; } = null!;

    /// <param name="token">The shared token agents must present.</param>
    /// <param name="features">Extensions to announce on the upgrade (X-InstaDeploy-Features), as a control plane that speaks
    /// them would; null for a plain seed server. The server still only records what it receives (it never ACKs).</param>
    public static async Task<SeedServer> StartAsync(string token, string? features = null)
    {
        var server = new SeedServer(token, features);
        await server._app.StartAsync();
        var address = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri(address.Replace("http://", "ws://") + "/ws");
        return server;
    }

    public Task<WebSocket> AgentConnected => _agent.Task;

    private async Task HandleAsync(HttpContext context)
    {
        if (context.Request.Headers.Authorization != "Bearer " + _token)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        foreach (var name in new[] { "X-Agent-Version", "X-Agent-Architecture", "X-Agent-Hostname" })
            HandshakeHeaders[name] = context.Request.Headers[name].ToString();
        if (_features is not null) context.Response.Headers["X-InstaDeploy-Features"] = _features;
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        _agent.TrySetResult(socket);
        var buffer = new byte[1 << 20];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var length = 0;
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), context.RequestAborted);
                    length += result.Count;
                } while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close) break;
                using var document = JsonDocument.Parse(buffer.AsMemory(0, length));
                Received.Enqueue(document.RootElement.Clone());
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        await _done.Task.WaitAsync(TimeSpan.FromSeconds(1)).ContinueWith(_ => { });
    }

    /// <summary>Sends a command exactly as the README shows it.</summary>
    public async Task SendCommandAsync(string id, string type, string payloadJson)
    {
        var socket = await AgentConnected.WaitAsync(TimeSpan.FromSeconds(30));
        var json = $"{{\"id\":{JsonSerializer.Serialize(id)},\"type\":{JsonSerializer.Serialize(type)},\"payload\":{payloadJson}}}";
        await socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);
    }

    /// <summary>Sends a raw text message (e.g. a command with extra fields).</summary>
    public async Task SendRawAsync(string json)
    {
        var socket = await AgentConnected.WaitAsync(TimeSpan.FromSeconds(30));
        await socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);
    }

    /// <summary>Waits for the final (COMPLETED or FAILED) response to a job.</summary>
    public async Task<JsonElement> WaitForFinalAsync(string jobId, TimeSpan timeout)
    {
        JsonElement found = default;
        await Eventually.TrueAsync(() => Received.Any(m =>
        {
            // (Messages of the extensions, such as AGENT_STATE, carry no job id.)
            if (!m.TryGetProperty("job_id", out var id) || id.GetString() != jobId) return false;
            if (!m.TryGetProperty("status", out var status) || status.GetString() is not ("COMPLETED" or "FAILED")) return false;
            found = m;
            return true;
        }), timeout, $"the final response to {jobId}");
        return found;
    }

    public async ValueTask DisposeAsync()
    {
        _done.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
