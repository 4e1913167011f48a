using System.Threading.Channels;
using InstaDeploy.ControlPlane.Data;

namespace InstaDeploy.ControlPlane.Jobs.Delivery;

/// <summary>
/// One connected agent's ordered send queue: the only writer of commands to that agent. Jobs reach the agent in the
/// order they were created, per project and across reconnects: while it attaches, what waited for it goes first (after
/// its AGENT_STATE, for an agent that remembers jobs), and only then does it take new jobs, which queue behind.
/// </summary>
internal sealed class AgentOutbox(IAgentLink link)
{
    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource<Contracts.AgentStateMessage?> _start = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _sent = new(StringComparer.Ordinal);
    private volatile bool _live;
    private volatile bool _closed;

    /// <summary>One job to send; <see cref="Claimed"/> when it was stored SENT for this send, <see cref="Retry"/> to send a
    /// job again that this connection already carried (the agent answers a repeat from its journal).</summary>
    public readonly record struct Item(JobEntity Job, bool Claimed, bool Retry);

    public IAgentLink Link { get; } = link;

    /// <summary>Whether new jobs go straight into this queue (after the backlog, and not while the agent drains or is gone).</summary>
    public bool Live => _live && !_closed;

    public bool Closed => _closed;

    public Task<Contracts.AgentStateMessage?> Started => _start.Task;

    /// <summary>The agent may be sent its backlog: at once (a seed agent) or with what its AGENT_STATE says it holds.</summary>
    public void Start(Contracts.AgentStateMessage? state) => _start.TrySetResult(state);

    public void GoLive() => _live = true;

    /// <summary>No more new jobs: the agent is stopping, or gone.</summary>
    public void StopTakingJobs() => _live = false;

    public bool TryEnqueue(Item item) => !_closed && _queue.Writer.TryWrite(item);

    public ChannelReader<Item> Queue => _queue.Reader;

    /// <summary>Whether this connection has sent the job; records it.</summary>
    public bool MarkSent(string jobId)
    {
        lock (_sent) return _sent.Add(jobId);
    }

    public bool WasSent(string jobId)
    {
        lock (_sent) return _sent.Contains(jobId);
    }

    /// <summary>The connection is gone: the queue takes nothing more; what it held is handed back by the pump.</summary>
    public void Close()
    {
        _closed = true;
        _live = false;
        _start.TrySetResult(null);
        _queue.Writer.TryComplete();
    }
}
