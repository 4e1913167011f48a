using System.Collections.Concurrent;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Jobs.Output;

/// <summary>
/// Live output of running jobs, pushed from memory: the hub hands each line here the moment it arrives and every
/// follower gets it at once, with no database read per line. The store keeps the record, appended in batches by
/// <see cref="JobOutputWriter"/>. Lines are numbered per job, so a follower that joins late or comes back with
/// <c>Last-Event-ID</c> gets each line exactly once.
/// </summary>
public sealed class JobOutputHub(JobReads reads, IOptions<ControlPlaneOptions> options, ILogger<JobOutputHub> logger)
{
    private readonly ConcurrentDictionary<string, LiveJobOutput> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _unstored = new(StringComparer.Ordinal);
    private readonly System.Threading.Channels.Channel<bool> _wake = System.Threading.Channels.Channel.CreateBounded<bool>(
        new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite });

    /// <summary>Raised after a batch of streamed lines is committed: each job and the number of its last stored line
    /// (on PostgreSQL, <see cref="Cluster.ClusterEvents"/> tells the other instances). Handlers must not block.</summary>
    public event Action<IReadOnlyList<(string JobId, long Through)>>? OutputStored;

    internal void RaiseOutputStored(IReadOnlyList<(string JobId, long Through)> stored) => OutputStored?.Invoke(stored);

    /// <summary>The live output of a job followed here but fed by another instance, for <see cref="Cluster.ClusterEvents"/>.</summary>
    internal LiveJobOutput? FedElsewhere(string jobId) => _jobs.TryGetValue(jobId, out var live) && !live.FedHere ? live : null;

    /// <summary>Jobs followed here whose output another instance receives.</summary>
    internal List<string> FollowedFedElsewhere() => [.. _jobs.Where(j => !j.Value.FedHere && j.Value.HasFollowers).Select(j => j.Key)];

    /// <summary>Jobs with output in memory now.</summary>
    public int LiveJobs => _jobs.Count;

    /// <summary>A RUNNING response's lines: numbered, pushed to the job's followers, queued for the store. Output for a
    /// job that is not the agent's own open job is ignored.</summary>
    public async ValueTask AppendAsync(string agentId, string jobId, string text, CancellationToken cancellationToken)
    {
        var live = await LiveForAgentAsync(agentId, jobId, cancellationToken);
        if (live is null)
        {
            logger.UnknownJobResponse(agentId, jobId);
            return;
        }
        live.Append(JobLogs.SplitLines(text));
        _unstored[jobId] = 0;
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Completes when there is output to store.</summary>
    internal ValueTask<bool> WaitForUnstoredAsync(CancellationToken cancellationToken) => _wake.Reader.WaitToReadAsync(cancellationToken);

    private async ValueTask<LiveJobOutput?> LiveForAgentAsync(string agentId, string jobId, CancellationToken cancellationToken)
    {
        if (_jobs.TryGetValue(jobId, out var live)) return live.AgentId == agentId && !live.Completed ? live : null;
        // The job's first output (or the first since a restart): one read says whose job it is and where its lines go on.
        var head = await reads.ReadHeadAsync(jobId, cancellationToken);
        if (head is null || head.AgentId != agentId || head.IsTerminal) return null;
        var (next, bytes) = await reads.StoredExtentAsync(jobId, cancellationToken);
        live = _jobs.GetOrAdd(jobId, _ => new LiveJobOutput(agentId, next, bytes, options.Value.MaxJobLogBytes));
        return live.AgentId == agentId ? live : null;
    }

    /// <summary>
    /// Follows a job that was open when the caller read it: the lines after <paramref name="afterSeq"/> that are in
    /// memory, then every new event. Lines up to <see cref="Subscription.StoredUpTo"/> are the caller's to read from the
    /// store. If <see cref="Subscription.CreatedEntry"/>, the job may have ended just before: the caller checks again.
    /// </summary>
    public async Task<Subscription> SubscribeAsync(string jobId, string agentId, long afterSeq, CancellationToken cancellationToken)
    {
        var created = false;
        if (!_jobs.TryGetValue(jobId, out var live))
        {
            var (next, bytes) = await reads.StoredExtentAsync(jobId, cancellationToken);
            var fresh = new LiveJobOutput(agentId, next, bytes, options.Value.MaxJobLogBytes);
            live = _jobs.GetOrAdd(jobId, fresh);
            created = ReferenceEquals(live, fresh);
        }
        return live.Subscribe(afterSeq, created);
    }

    /// <summary>The follower found the job ended after all: forget the entry it created, unless someone uses it.</summary>
    public void Forget(string jobId, Subscription subscription)
    {
        if (subscription.CreatedEntry && !subscription.Job.HasFollowers)
            _jobs.TryRemove(new KeyValuePair<string, LiveJobOutput>(jobId, subscription.Job));
    }

    /// <summary>The job's lines in memory after <paramref name="afterSeq"/> (none if it has no live output).</summary>
    public List<string> LinesAfter(string jobId, long afterSeq) =>
        _jobs.TryGetValue(jobId, out var live) ? live.LinesAfter(afterSeq) : [];

    /// <summary>The job ended (its final state is committed): followers get the rest of its output and the end.</summary>
    public void Complete(string jobId, JobLogs.Kept? final, string status, string error)
    {
        _unstored.TryRemove(jobId, out _);
        if (_jobs.TryRemove(jobId, out var live)) live.Complete(final, status, error);
    }

    /// <summary>The jobs whose lines wait for the store, for <see cref="JobOutputWriter"/>.</summary>
    internal List<(string JobId, LiveJobOutput Output)> TakeUnstored()
    {
        _wake.Reader.TryRead(out _);
        var taken = new List<(string, LiveJobOutput)>();
        foreach (var jobId in _unstored.Keys)
        {
            _unstored.TryRemove(jobId, out _);
            if (_jobs.TryGetValue(jobId, out var live)) taken.Add((jobId, live));
        }
        return taken;
    }

    /// <summary>A chunk could not be stored: try it with the next flush.</summary>
    internal void RequeueUnstored(string jobId)
    {
        _unstored[jobId] = 0;
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Keeps idle followers' streams open: a comment to each follower of a job quiet since <paramref name="quietSince"/>.</summary>
    internal void KeepAlive(long quietSince)
    {
        foreach (var live in _jobs.Values) live.KeepAlive(quietSince);
    }

    /// <summary>Jobs whose output has been quiet since before <paramref name="before"/> (Environment.TickCount64).</summary>
    internal List<string> QuietSince(long before) => [.. _jobs.Where(j => j.Value.LastActivity < before).Select(j => j.Key)];
}
