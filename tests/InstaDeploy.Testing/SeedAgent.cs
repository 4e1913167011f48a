using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.Testing;

/// <summary>
/// An agent written from the seed README alone, sharing no code with ours: it dials with the four handshake headers,
/// reads <c>{"id","type","payload"}</c> commands and answers each with one final
/// <c>{"job_id","status","logs","error"}</c> response (or not at all, when the handler returns null).
/// </summary>
public sealed class SeedAgent : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<string, string, JsonElement, (string Status, string Logs, string Error)?> _handle;
    private Task? _loop;

    public SeedAgent(Func<string, string, JsonElement, (string Status, string Logs, string Error)?> handle) => _handle = handle;

    public List<JsonElement> ReceivedCommands { get; } = [];

    /// <summary>The socket's state.</summary>
    public WebSocketState State => _socket.State;

    /// <summary>How the server closed the connection, once it has.</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    /// <summary>The upgrade response's headers (what the control plane announced to this agent).</summary>
    public IReadOnlyDictionary<string, IEnumerable<string>>? ResponseHeaders => _socket.HttpResponseHeaders;

    /// <summary>The HTTP status of a refused handshake (e.g. 401), or 0.</summary>
    public int RefusedWith => (int)_socket.HttpStatusCode;

    /// <param name="serverUrl">The control plane's /ws.</param>
    /// <param name="token">The agent token.</param>
    /// <param name="hostname">The agent id.</param>
    /// <param name="features">InstaDeploy extensions to claim in X-InstaDeploy-Agent-Features (a pure seed agent claims none).</param>
    public async Task ConnectAsync(Uri serverUrl, string token, string hostname, string? features = null)
    {
        _socket.Options.CollectHttpResponseDetails = true;
        if (features is not null) _socket.Options.SetRequestHeader("X-InstaDeploy-Agent-Features", features);
        _socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        _socket.Options.SetRequestHeader("X-Agent-Version", "1.0.0");
        _socket.Options.SetRequestHeader("X-Agent-Architecture", "linux-amd64");
        _socket.Options.SetRequestHeader("X-Agent-Hostname", hostname);
        await _socket.ConnectAsync(serverUrl, _stop.Token);
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        var buffer = new byte[1 << 20];
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var length = 0;
                WebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), _stop.Token);
                    length += result.Count;
                } while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close) break;

                using var document = JsonDocument.Parse(buffer.AsMemory(0, length));
                var command = document.RootElement.Clone();
                lock (ReceivedCommands) ReceivedCommands.Add(command);
                var answer = _handle(command.GetProperty("id").GetString()!, command.GetProperty("type").GetString()!, command.GetProperty("payload"));
                if (answer is not { } a) continue;
                var json = "{\"job_id\":" + JsonSerializer.Serialize(command.GetProperty("id").GetString())
                    + ",\"status\":" + JsonSerializer.Serialize(a.Status)
                    + ",\"logs\":" + JsonSerializer.Serialize(a.Logs)
                    + ",\"error\":" + JsonSerializer.Serialize(a.Error) + "}";
                await _socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
    }

    /// <summary>Sends a raw text frame, for tests of what the control plane does with bad messages.</summary>
    public Task SendRawAsync(string text) => _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, _stop.Token);

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try { await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None); } catch (WebSocketException) { }
        }
        await _stop.CancelAsync();
        if (_loop is not null) await _loop;
        _socket.Dispose();
    }
}
