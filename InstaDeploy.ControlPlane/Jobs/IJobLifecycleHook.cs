using System.Text.Json.Serialization.Metadata;
using InstaDeploy.ControlPlane.Data;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>
/// What another feature keeps in step with jobs (a deploy's placement and revision, say), written in the same
/// transaction as the job's own change, so the two never disagree. The job store knows nothing of what a job means;
/// each hook says which jobs it tracks.
/// </summary>
public interface IJobLifecycleHook
{
    /// <summary>Whether jobs of <paramref name="type"/> for <paramref name="projectName"/> change rows besides their
    /// own; those take the transactional path, the others a single group-committed statement.</summary>
    bool Tracks(string type, string? projectName);

    /// <summary>Inside the transaction that stores a new tracked job; may change <see cref="JobDraft.Payload"/>, which is
    /// serialized after every hook ran.</summary>
    Task OnCreatingAsync(InstaDeployDbContext db, JobDraft draft, JobEntity job, CancellationToken cancellationToken);

    /// <summary>Inside the transaction that ends a tracked job (already changed on <paramref name="job"/>).</summary>
    Task OnFinishingAsync(InstaDeployDbContext db, JobEntity job, JobEnding ending, CancellationToken cancellationToken);
}

/// <summary>A job about to be stored.</summary>
public sealed class JobDraft
{
    public required string Type { get; init; }
    public required string AgentId { get; init; }
    public string? ProjectName { get; init; }

    /// <summary>The payload as typed data; serialized once, after the hooks ran.</summary>
    public required object Payload { get; set; }
    public required JsonTypeInfo PayloadType { get; init; }
    public required int TimeoutSeconds { get; init; }
    public required TimeSpan QueueTtl { get; init; }
    /// <summary>W3C trace context of the dispatch, so the job's result joins its trace.</summary>
    public string? TraceParent { get; set; }

    /// <summary>Store it already claimed for the send that follows (its agent is connected).</summary>
    public bool ClaimForSend { get; set; }

    /// <summary>See <see cref="JobEntity.SecretsProtected"/>.</summary>
    public string? SecretsProtected { get; init; }

    /// <summary>What a lifecycle hook needs to record with the job (e.g. a deploy's revision).</summary>
    public object? HookState { get; init; }
}

/// <summary>How a job ended.</summary>
/// <param name="Status">COMPLETED, FAILED, TIMED_OUT or EXPIRED.</param>
/// <param name="ResultJson">The agent's structured result, if any.</param>
/// <param name="ReachedAgent">False when the job never reached its agent (expired in the queue, or failed before it
/// was sent): nothing changed on the agent.</param>
/// <param name="Now">When it ended.</param>
public sealed record JobEnding(string Status, string? ResultJson, bool ReachedAgent, DateTimeOffset Now);

/// <summary>A job that has just ended, as observers of <see cref="JobEvents"/> see it.</summary>
public sealed record FinishedJob(string Id, string Type, string AgentId, string? ProjectName, string Status, string Error, bool ArrivedLate = false);

/// <summary>Tells other features, after the commit, that a job ended (a follow-up STATUS, a rollout's next step).</summary>
public sealed class JobEvents(ILogger<JobEvents> logger)
{
    /// <summary>Raised after a job's final state is committed; handlers must not block.</summary>
    public event Action<FinishedJob>? Finished;

    /// <summary>Raised when an agent connects again after it was away for a while (the control plane down, or its
    /// connection lost): what its engine runs may have changed without anyone being told. Handlers must not block.</summary>
    public event Action<string, TimeSpan>? Reconnected;

    internal void RaiseReconnected(string agentId, TimeSpan away)
    {
        try
        {
            Reconnected?.Invoke(agentId, away);
        }
        catch (Exception e)
        {
            logger.ReconnectedHandlerFailed(e, agentId);
        }
    }

    internal void RaiseFinished(FinishedJob job)
    {
        foreach (var handler in Finished?.GetInvocationList() ?? [])
        {
            try
            {
                ((Action<FinishedJob>)handler)(job);
            }
            catch (Exception e)
            {
                logger.FinishedHandlerFailed(e, job.Id);
            }
        }
    }
}
