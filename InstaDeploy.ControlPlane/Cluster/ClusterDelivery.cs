using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Delivery;

namespace InstaDeploy.ControlPlane.Cluster;

/// <summary>
/// A job another instance stored for an agent connected here is sent the moment its notification arrives: claimed by
/// its id (PENDING -> SENT, one round trip that returns it; the claim keeps two instances from both sending it) and
/// queued like every other job. The jobs of one agent are handled one after another in the order they were committed,
/// so they reach it in that order; different agents' go side by side.
/// </summary>
public sealed class ClusterDelivery(ClusterSignals signals, JobDispatcher dispatcher, JobStore jobs, ILogger<ClusterDelivery> logger) : IHostedService
{
    private readonly Dictionary<string, Task> _perAgent = new(StringComparer.Ordinal);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        signals.JobWaiting += OnJobWaiting;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        signals.JobWaiting -= OnJobWaiting;
        return Task.CompletedTask;
    }

    private void OnJobWaiting(JobWaitingSignal waiting)
    {
        if (!dispatcher.TakesJobs(waiting.AgentId)) return; // not ours, or not taking jobs yet (its backlog sends them)
        lock (_perAgent)
        {
            var before = _perAgent.GetValueOrDefault(waiting.AgentId) ?? Task.CompletedTask;
            Task next = null!;
            next = before.ContinueWith(_ => DeliverAsync(waiting), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap()
                .ContinueWith(_ => Forget(waiting.AgentId, next), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            _perAgent[waiting.AgentId] = next;
        }
    }

    private void Forget(string agentId, Task done)
    {
        lock (_perAgent)
            if (_perAgent.TryGetValue(agentId, out var last) && ReferenceEquals(last, done)) _perAgent.Remove(agentId);
    }

    private async Task DeliverAsync(JobWaitingSignal waiting)
    {
        try
        {
            if (waiting.JobId is { } jobId)
            {
                if (await jobs.ClaimAnnouncedAsync(jobId, waiting.AgentId, waiting.TimeoutSeconds, CancellationToken.None) is not { } job) return;
                if (!dispatcher.EnqueueClaimed(job)) await jobs.UnclaimAsync(job.Id, CancellationToken.None); // gone meanwhile: waits for its next connection
                return;
            }
            // From an instance of an earlier version: the agent's waiting jobs, as they are stored.
            var open = (await jobs.OpenJobsAsync(waiting.AgentId, CancellationToken.None)).Where(j => j.Status == JobStatuses.Pending);
            dispatcher.RequeueDue(open);
        }
        catch (Exception e)
        {
            logger.BackgroundTickFailed(e, nameof(ClusterDelivery));
        }
    }
}
