using System.Buffers;
using System.Net.WebSockets;
using InstaDeploy.ControlPlane.Jobs.Delivery;

namespace InstaDeploy.ControlPlane.Hub;

/// <summary>One agent's live WebSocket: serialized sends, and a receive loop that hands whole messages on.</summary>
public sealed class AgentConnection(string agentId, WebSocket socket, int maxMessageBytes, AgentCapabilities capabilities, int messagesPerSecond = 500) : IAgentLink
{
    /// <summary>The receive buffer a connection keeps; one grown for a bigger message is dropped after it.</summary>
    private const int KeptBufferBytes = 64 * 1024;

    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly MessageBudget _budget = new(messagesPerSecond);

    public string AgentId { get; } = agentId;

    public Guid ConnectionId { get; } = Guid.NewGuid();

    /// <summary>The credential it connected with (<see cref="Agents.AgentAuthentication.Identity"/>): a second connection
    /// for the same id replaces this one only with the same credential.</summary>
    public string CredentialIdentity { get; init; } = "shared";

    /// <summary>The id the agent process announced (<see cref="Contracts.HandshakeHeaders.AgentInstance"/>), if any.</summary>
    public string? Instance { get; init; }

    /// <summary>When this connection began.</summary>
    public DateTimeOffset ConnectedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>The extensions the agent announced.</summary>
    public AgentCapabilities Capabilities { get; } = capabilities;

    /// <summary>Sends one text message; concurrent callers take turns, as a WebSocket allows one sender at a time.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await socket.SendAsync(utf8Json, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Reads messages until the agent closes, the socket fails or <paramref name="cancellationToken"/> fires.
    /// Returns why it ended. A message over the size limit closes the socket with 1009 (message too big); an agent that
    /// sends more messages than its budget allows is cut off with 1008 (policy violation) and reconnects with backoff.
    /// </summary>
    public async Task<string> ReceiveAsync(Func<ReadOnlyMemory<byte>, Task> onMessage, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                // One large message (a big final log) must not pin its buffer for the connection's lifetime.
                if (buffer.Capacity > KeptBufferBytes) buffer = new ArrayBufferWriter<byte>(16 * 1024);
                buffer.ResetWrittenCount();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer.GetMemory(8 * 1024), cancellationToken);
                    buffer.Advance(result.Count);
                    if (buffer.WrittenCount > maxMessageBytes)
                    {
                        await CloseAsync(WebSocketCloseStatus.MessageTooBig, $"message larger than {maxMessageBytes} bytes");
                        return "message too big";
                    }
                } while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await CloseAsync(WebSocketCloseStatus.NormalClosure, "bye");
                    return "closed by agent";
                }
                if (!_budget.TryTake())
                {
                    await CloseAsync(WebSocketCloseStatus.PolicyViolation, "too many messages");
                    return $"more than {_budget.PerSecond} messages a second (INSTADEPLOY_AGENT_MESSAGES_PER_SECOND)";
                }
                if (result.MessageType == WebSocketMessageType.Text)
                    await onMessage(buffer.WrittenMemory);
            }
            return $"socket {socket.State}";
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "control plane shutting down");
            return "control plane shutting down";
        }
        catch (WebSocketException e)
        {
            return $"connection lost ({e.WebSocketErrorCode})";
        }
    }

    public Task DisconnectAsync(string reason) => CloseAsync(WebSocketCloseStatus.PolicyViolation, reason);

    /// <summary>Closes the socket, ignoring a socket that is already gone.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(status, reason, timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            socket.Abort();
        }
    }
}

/// <summary>A token bucket of messages: <see cref="PerSecond"/> a second, bursts of ten times as many.</summary>
internal sealed class MessageBudget(int perSecond)
{
    private readonly double _capacity = perSecond * 10.0;
    private double _tokens = perSecond * 10.0;
    private long _last = System.Diagnostics.Stopwatch.GetTimestamp();

    public int PerSecond { get; } = perSecond;

    /// <summary>Takes one message from the budget; false when it is spent. Called by the one receive loop only.</summary>
    public bool TryTake()
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        _tokens = Math.Min(_capacity, _tokens + System.Diagnostics.Stopwatch.GetElapsedTime(_last, now).TotalSeconds * PerSecond);
        _last = now;
        if (_tokens < 1) return false;
        _tokens--;
        return true;
    }
}
