using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.Bench;

/// <summary>
/// N simulated agents, each one WebSocket speaking the wire protocol: the seed's handshake headers plus the
/// reliable-delivery feature, an <c>AGENT_STATE</c> report after connecting, and an immediate <c>COMPLETED</c> answer
/// to every command. The control plane ACKs a result once it is persisted, so the ACK's arrival time is when the job's
/// result is durable. One task per agent, no timers: the server's pings are answered by the receive loop.
/// Agents reconnect like the real agent (full-jitter backoff from 1 s doubling to 60 s). With several servers (control
/// plane instances), agent i dials server i mod n first and another one, at random, on each new dial, as a balancer
/// would spread the agents of an instance that is gone over the others.
/// </summary>
internal sealed class AgentFleet(IReadOnlyList<IPEndPoint> servers, string token, string idPrefix, int dialConcurrency, int firstIndex = 0) : IAsyncDisposable
{
    public AgentFleet(IPEndPoint server, string token, string idPrefix, int dialConcurrency)
        : this([server], token, idPrefix, dialConcurrency)
    {
    }

    private const int SourceAddresses = 8;
    private static readonly byte[] StateMessage = """{"type":"AGENT_STATE","running":[],"results":[]}"""u8.ToArray();

    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _dialGate = new(dialConcurrency, dialConcurrency);
    private readonly List<Task> _agents = [];
    private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _commands = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _acks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, int> _serverOf = new();
    private int _connected;
    private long _connects;
    private long _failedDials;

    public int Count => _agents.Count;

    /// <summary>Agents whose WebSocket is open now.</summary>
    public int Connected => Volatile.Read(ref _connected);

    public long Connects => Interlocked.Read(ref _connects);

    public long FailedDials => Interlocked.Read(ref _failedDials);

    /// <summary>How long an agent takes to answer a command (a deploy's time on the agent); zero answers at once.</summary>
    public TimeSpan AnswerDelay { get; set; }

    /// <summary>Whether to record command and ACK arrival times (the latency scenarios); off for idle fleets.</summary>
    public bool RecordJobs { get; set; }

    /// <summary>The index (in the servers given) of the server agent <paramref name="index"/> dialled last.</summary>
    public int ServerOf(int index) => _serverOf.GetValueOrDefault(index, -1);

    public string AgentId(int index) => $"{idPrefix}-{index:D5}";

    /// <summary>Starts agents (numbered from the first index given) until there are <paramref name="total"/>, and waits until that many are connected.</summary>
    public async Task GrowToAsync(int total, TimeSpan timeout)
    {
        for (var i = _agents.Count; i < total; i++)
        {
            var index = firstIndex + i;
            _agents.Add(Task.Run(() => RunAgentAsync(index)));
        }
        await WaitConnectedAsync(total, timeout);
    }

    public async Task WaitConnectedAsync(int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (Connected < count)
        {
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"only {Connected} of {count} agents connected after {timeout.TotalSeconds:0} s ({FailedDials} failed dials)");
            await Task.Delay(20);
        }
    }

    /// <summary>Completes with the Stopwatch timestamp at which the agent received job <paramref name="jobId"/>.</summary>
    public Task<long> CommandReceived(string jobId) => Slot(_commands, jobId).Task;

    /// <summary>Completes with the Stopwatch timestamp at which the ACK of job <paramref name="jobId"/> arrived.</summary>
    public Task<long> Acknowledged(string jobId) => Slot(_acks, jobId).Task;

    public void Forget(string jobId)
    {
        _commands.TryRemove(jobId, out _);
        _acks.TryRemove(jobId, out _);
    }

    private static TaskCompletionSource<long> Slot(ConcurrentDictionary<string, TaskCompletionSource<long>> slots, string jobId) =>
        slots.GetOrAdd(jobId, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task RunAgentAsync(int index)
    {
        var agentId = AgentId(index);
        var source = IPAddress.Parse($"127.0.0.{1 + index % SourceAddresses}");
        var attempt = 0;
        var dials = 0;
        var buffer = new byte[4096];
        while (!_stop.IsCancellationRequested)
        {
            WebSocket? socket = null;
            var connectedAt = 0L;
            try
            {
                await _dialGate.WaitAsync(_stop.Token);
                try
                {
                    // The first dial goes to server i mod n; a redial to any other server, at random, as a balancer
                    // spreads the agents of an instance that went away over the ones left.
                    var serverIndex = dials++ == 0 || servers.Count == 1 ? index % servers.Count
                        : (_serverOf[index] + 1 + Random.Shared.Next(servers.Count - 1)) % servers.Count;
                    _serverOf[index] = serverIndex;
                    var server = servers[serverIndex];
                    socket = await WebSocketDialer.ConnectAsync(server, source, agentId, token, reliable: true, _stop.Token);
                }
                finally
                {
                    _dialGate.Release();
                }
                connectedAt = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref _connected);
                Interlocked.Increment(ref _connects);
                await socket.SendAsync(StateMessage, WebSocketMessageType.Text, true, _stop.Token);
                await ReceiveAsync(socket, buffer);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is IOException or WebSocketException or System.Net.Sockets.SocketException or OperationCanceledException or JsonException)
            {
                if (connectedAt == 0) Interlocked.Increment(ref _failedDials);
            }
            finally
            {
                if (connectedAt != 0) Interlocked.Decrement(ref _connected);
                socket?.Abort();
                socket?.Dispose();
            }
            if (_stop.IsCancellationRequested) break;

            // The real agent's backoff: a ceiling from 1 s doubling to 60 s, a random delay in its upper half, and a
            // reset after a connection that lasted 30 s.
            if (connectedAt != 0 && Stopwatch.GetElapsedTime(connectedAt) >= TimeSpan.FromSeconds(30)) attempt = 0;
            var ceiling = Math.Min(60_000, 1000 * Math.Pow(2, Math.Min(attempt++, 30)));
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task ReceiveAsync(WebSocket socket, byte[] buffer)
    {
        var message = buffer;
        using var sendLock = new SemaphoreSlim(1, 1);
        while (true)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                if (length == message.Length) Array.Resize(ref message, message.Length * 2);
                result = await socket.ReceiveAsync(message.AsMemory(length), _stop.Token);
                length += result.Count;
            } while (!result.EndOfMessage);
            if (result.MessageType == WebSocketMessageType.Close) return;

            var now = Stopwatch.GetTimestamp();
            var (id, type) = ReadIdAndType(message.AsSpan(0, length));
            if (id is null) continue;
            if (type == "ACK")
            {
                if (RecordJobs) Slot(_acks, id).TrySetResult(now);
                continue;
            }
            if (RecordJobs) Slot(_commands, id).TrySetResult(now);
            var answer = Encoding.UTF8.GetBytes("{\"job_id\":\"" + id + "\",\"status\":\"COMPLETED\",\"logs\":\"\",\"error\":\"\"}");
            if (AnswerDelay > TimeSpan.Zero) _ = AnswerLaterAsync(socket, sendLock, answer);
            else await socket.SendAsync(answer, WebSocketMessageType.Text, true, _stop.Token);
        }
    }

    private async Task AnswerLaterAsync(WebSocket socket, SemaphoreSlim sendLock, byte[] answer)
    {
        try
        {
            await Task.Delay(AnswerDelay, _stop.Token);
            await sendLock.WaitAsync(_stop.Token);
            try
            {
                await socket.SendAsync(answer, WebSocketMessageType.Text, true, _stop.Token);
            }
            finally
            {
                sendLock.Release();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException)
        {
            // The connection went; the control plane re-sends the job after the reconnect.
        }
    }

    private static (string? Id, string? Type) ReadIdAndType(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        string? id = null, type = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return (null, null);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isId = reader.ValueTextEquals("id"u8);
            var isType = reader.ValueTextEquals("type"u8);
            reader.Read();
            if (isId) id = reader.GetString();
            else if (isType) type = reader.GetString();
            else reader.Skip();
            if (id is not null && type is not null) break;
        }
        return (id, type);
    }

    /// <summary>Stops every agent: their sockets are aborted (no close handshake), and no agent reconnects.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_agents);
        _stop.Dispose();
    }
}
