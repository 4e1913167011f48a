using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.Testing;

/// <summary>
/// Many agents speaking the wire protocol, written from the protocol alone: the seed's handshake headers, labels in
/// X-InstaDeploy-Agent-Labels, the reliable-delivery extension (AGENT_STATE after connecting, results held until the
/// control plane ACKs them, a re-sent job answered from what is held). Each command is answered after
/// <see cref="DeployTime"/> with what <see cref="Outcome"/> says. An agent reconnects a second after losing its
/// connection, as the real agent does with its backoff, until it is stopped.
/// </summary>
public sealed class SimulatedFleet : IAsyncDisposable
{
    private readonly Uri _server;
    private readonly string _token;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, SimulatedAgent> _agents = new(StringComparer.Ordinal);

    public SimulatedFleet(Uri server, string token) => (_server, _token) = (server, token);

    /// <summary>How long an agent takes to run a command.</summary>
    public TimeSpan DeployTime { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>What an agent answers to a command: (agent, type, payload) → COMPLETED or FAILED with an error.</summary>
    public Func<string, string, JsonElement, (string Status, string Error)> Outcome { get; set; } = (_, _, _) => ("COMPLETED", "");

    /// <summary>Every command each agent received, in order (ACKs left out); a re-sent job appears once per send.</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<(string JobId, string Type, JsonElement Payload)>> Received { get; } = new(StringComparer.Ordinal);

    public IEnumerable<string> AgentIds => _agents.Keys;

    public int Connected => _agents.Values.Count(a => a.IsConnected);

    /// <summary>Starts an agent that connects (and reconnects) until <see cref="StopAgentAsync"/> or disposal.</summary>
    public void Start(string agentId, string? labels = null)
    {
        var agent = new SimulatedAgent(this, agentId, labels, CancellationTokenSource.CreateLinkedTokenSource(_stop.Token));
        if (!_agents.TryAdd(agentId, agent)) throw new InvalidOperationException($"agent {agentId} runs already");
        Received.TryAdd(agentId, new());
        agent.Run();
    }

    /// <summary>Takes the agent offline: its socket is aborted and it does not reconnect.</summary>
    public async Task StopAgentAsync(string agentId)
    {
        if (_agents.TryRemove(agentId, out var agent)) await agent.StopAsync();
    }

    public Task WaitConnectedAsync(int count, TimeSpan timeout) =>
        Eventually.TrueAsync(() => Connected >= count, timeout, $"{count} simulated agents to be connected (now {Connected})");

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_agents.Values.Select(a => a.StopAsync()));
    }

    private sealed class SimulatedAgent(SimulatedFleet fleet, string agentId, string? labels, CancellationTokenSource stop)
    {
        private readonly ConcurrentDictionary<string, byte[]?> _jobs = new(StringComparer.Ordinal); // null while running
        private readonly ConcurrentDictionary<string, byte> _acked = new(StringComparer.Ordinal);
        private readonly SemaphoreSlim _send = new(1, 1);
        private volatile ClientWebSocket? _socket;
        private Task _loop = Task.CompletedTask;

        public bool IsConnected => _socket?.State == WebSocketState.Open;

        public void Run() => _loop = Task.Run(LoopAsync);

        public async Task StopAsync()
        {
            await stop.CancelAsync();
            _socket?.Abort();
            await _loop;
        }

        private async Task LoopAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                using var socket = new ClientWebSocket();
                socket.Options.SetRequestHeader("Authorization", "Bearer " + fleet._token);
                socket.Options.SetRequestHeader("X-Agent-Version", "sim");
                socket.Options.SetRequestHeader("X-Agent-Architecture", "linux-amd64");
                socket.Options.SetRequestHeader("X-Agent-Hostname", agentId);
                socket.Options.SetRequestHeader("X-InstaDeploy-Agent-Features", "reliable-delivery");
                if (labels is not null) socket.Options.SetRequestHeader("X-InstaDeploy-Agent-Labels", labels);
                try
                {
                    await socket.ConnectAsync(fleet._server, stop.Token);
                    _socket = socket;
                    var held = _jobs.Where(j => j.Value is not null && !_acked.ContainsKey(j.Key)).ToList();
                    var state = JsonSerializer.Serialize(new
                    {
                        type = "AGENT_STATE",
                        running = _jobs.Where(j => j.Value is null).Select(j => j.Key).ToArray(),
                        results = held.Select(j => j.Key).ToArray(),
                    });
                    await SendAsync(Encoding.UTF8.GetBytes(state));
                    foreach (var (_, result) in held) await SendAsync(result!);
                    await ReceiveAsync(socket);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or HttpRequestException)
                {
                }
                finally
                {
                    _socket = null;
                }
                try { await Task.Delay(TimeSpan.FromSeconds(1), stop.Token); } catch (OperationCanceledException) { }
            }
        }

        private async Task ReceiveAsync(ClientWebSocket socket)
        {
            var buffer = new byte[1 << 20];
            while (socket.State == WebSocketState.Open)
            {
                var length = 0;
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), stop.Token);
                    length += result.Count;
                } while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close) return;

                using var document = JsonDocument.Parse(buffer.AsMemory(0, length));
                var id = document.RootElement.GetProperty("id").GetString()!;
                var type = document.RootElement.GetProperty("type").GetString()!;
                if (type == "ACK")
                {
                    _acked.TryAdd(id, 0);
                    continue;
                }
                var payload = document.RootElement.GetProperty("payload").Clone();
                fleet.Received[agentId].Enqueue((id, type, payload));
                if (_jobs.TryGetValue(id, out var known))
                {
                    // Sent again: a job id runs at most once; its held result is sent again.
                    if (known is not null) await SendAsync(known);
                    continue;
                }
                _jobs[id] = null;
                _ = AnswerAsync(id, type, payload);
            }
        }

        private async Task AnswerAsync(string id, string type, JsonElement payload)
        {
            try
            {
                await Task.Delay(fleet.DeployTime, stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var (status, error) = fleet.Outcome(agentId, type, payload);
            var result = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { job_id = id, status, logs = $"{type} on {agentId}\n", error }));
            _jobs[id] = result;
            await SendAsync(result);
        }

        private async Task SendAsync(byte[] bytes)
        {
            await _send.WaitAsync();
            try
            {
                if (_socket is { State: WebSocketState.Open } socket)
                    await socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None);
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or IOException)
            {
                // Held: sent after the next connect.
            }
            finally
            {
                _send.Release();
            }
        }
    }
}
