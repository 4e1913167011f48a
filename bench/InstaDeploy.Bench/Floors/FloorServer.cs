using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace InstaDeploy.Bench.Floors;

/// <summary>
/// The floor a control-plane figure is measured against: the least a server can do for the same request on the same
/// machine. A bare Kestrel app speaking just enough of the wire protocol for the bench's own agents and followers to
/// drive it unchanged: <c>POST /agents/{id}/health</c> stores the job (one durable SQLite write, same journal and
/// synchronous setting) and writes the command to the agent's WebSocket; a result is stored the same way and ACKed;
/// <c>RUNNING</c> lines go straight to the job's <c>GET /jobs/{id}/logs?follow=true</c> followers. No authentication,
/// rate limit, validation, capacity check, telemetry or log: what the control plane does beyond this is its own cost,
/// and the figure ÷ the floor says how much that is, whatever the machine's disk and cores.
/// Writes are group-committed by one writer, as the control plane's are, so the floor is not slowed by a design the
/// control plane does not have.
/// </summary>
internal static class FloorServer
{
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string> options)
    {
        var dataDir = Environment.GetEnvironmentVariable("INSTADEPLOY_DATA_DIR") ?? throw new ArgumentException("INSTADEPLOY_DATA_DIR is required");
        var synchronous = Environment.GetEnvironmentVariable("INSTADEPLOY_DB_SYNCHRONOUS") ?? "FULL";
        // A fresh store each start: its job ids count from 1 again, so a folder left by an earlier run must not hold them.
        foreach (var leftover in Directory.EnumerateFiles(dataDir, "floor.db*")) File.Delete(leftover);
        await using var store = FloorStore.Open(Path.Combine(dataDir, "floor.db"), synchronous);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        var agents = new ConcurrentDictionary<string, AgentLink>(StringComparer.Ordinal);
        var followers = new ConcurrentDictionary<string, Followers>(StringComparer.Ordinal);
        long jobs = 0;

        app.MapGet("/health", () => "ok");
        app.MapGet("/agents", () => Microsoft.AspNetCore.Http.Results.Json(agents.Keys.Select(id => new { id, online = true })));
        app.MapPost("/agents/{agentId}/health", async (string agentId) =>
        {
            if (!agents.TryGetValue(agentId, out var link)) return Microsoft.AspNetCore.Http.Results.NotFound();
            var jobId = "job-" + Interlocked.Increment(ref jobs).ToString(CultureInfo.InvariantCulture);
            await store.WriteAsync(new FloorWrite(jobId, agentId, "SENT"));
            await link.SendAsync(Encoding.UTF8.GetBytes($"{{\"id\":\"{jobId}\",\"type\":\"HEALTH_CHECK\",\"payload\":{{}}}}"));
            return Microsoft.AspNetCore.Http.Results.Json(new { job_id = jobId }, statusCode: StatusCodes.Status202Accepted);
        });
        app.Map("/ws", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest) { context.Response.StatusCode = 400; return; }
            var agentId = context.Request.Headers["X-Agent-Hostname"].ToString();
            var reliable = context.Request.Headers["X-InstaDeploy-Agent-Features"].ToString().Contains("reliable-delivery", StringComparison.Ordinal);
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var link = new AgentLink(socket);
            agents[agentId] = link;
            try
            {
                await ReceiveAsync(link, reliable, store, followers, context.RequestAborted);
            }
            finally
            {
                agents.TryRemove(new KeyValuePair<string, AgentLink>(agentId, link));
            }
        });
        app.MapGet("/jobs/{jobId}/logs", async (string jobId, HttpContext context) =>
        {
            var queue = Channel.CreateBounded<byte[]>(512);
            var set = followers.GetOrAdd(jobId, _ => new Followers());
            set.Add(queue);
            try
            {
                context.Response.ContentType = "text/event-stream";
                await context.Response.StartAsync(context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                // Everything queued in one send, as the control plane's followers write.
                while (await queue.Reader.WaitToReadAsync(context.RequestAborted))
                {
                    while (queue.Reader.TryRead(out var frame)) context.Response.BodyWriter.Write(frame);
                    await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                set.Remove(queue);
            }
        });
        await app.RunAsync();
        return 0;
    }

    private static async Task ReceiveAsync(AgentLink link, bool reliable, FloorStore store, ConcurrentDictionary<string, Followers> followers, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        long seq = 0;
        while (true)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                result = await link.Socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
                length += result.Count;
            } while (!result.EndOfMessage);
            if (result.MessageType == WebSocketMessageType.Close) return;

            using var message = JsonDocument.Parse(buffer.AsMemory(0, length));
            var root = message.RootElement;
            if (!root.TryGetProperty("job_id", out var id) || !root.TryGetProperty("status", out var status)) continue; // AGENT_STATE
            var jobId = id.GetString()!;
            if (status.GetString() == "RUNNING")
            {
                var logs = root.GetProperty("logs").GetString() ?? "";
                var lines = logs.TrimEnd('\n').Split('\n');
                seq += lines.Length;
                var frame = new StringBuilder().Append("id: ").Append(seq).Append("\nevent: log\n");
                foreach (var line in lines) frame.Append("data: ").Append(line).Append('\n');
                if (followers.TryGetValue(jobId, out var set)) set.Publish(Encoding.UTF8.GetBytes(frame.Append('\n').ToString()));
                continue;
            }
            await store.WriteAsync(new FloorWrite(jobId, null, status.GetString()!));
            if (followers.TryRemove(jobId, out var ended)) ended.End("event: end\ndata: {}\n\n"u8.ToArray());
            if (reliable) await link.SendAsync(Encoding.UTF8.GetBytes($"{{\"type\":\"ACK\",\"id\":\"{jobId}\"}}"));
        }
    }

    private sealed class AgentLink(WebSocket socket)
    {
        private readonly SemaphoreSlim _send = new(1, 1);

        public WebSocket Socket { get; } = socket;

        public async Task SendAsync(byte[] frame)
        {
            await _send.WaitAsync();
            try
            {
                await Socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
            }
            finally
            {
                _send.Release();
            }
        }
    }

    /// <summary>A job's followers: each line is handed to every follower's queue, as the control plane's broadcast does.</summary>
    private sealed class Followers
    {
        private readonly List<Channel<byte[]>> _queues = [];

        public void Add(Channel<byte[]> queue) { lock (_queues) _queues.Add(queue); }

        public void Remove(Channel<byte[]> queue) { lock (_queues) _queues.Remove(queue); }

        public void Publish(byte[] frame)
        {
            lock (_queues)
                foreach (var queue in _queues) queue.Writer.TryWrite(frame);
        }

        public void End(byte[] frame)
        {
            lock (_queues)
                foreach (var queue in _queues)
                {
                    queue.Writer.TryWrite(frame);
                    queue.Writer.TryComplete();
                }
        }
    }
}
