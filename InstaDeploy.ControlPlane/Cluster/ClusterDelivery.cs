using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Delivery;

namespace InstaDeploy.ControlPlane.Cluster;

/// <summary>
/// A job another instance stored for an agent connected here is sent the moment its notification arrives, by the same
/// ordered queue as every other job (the claim PENDING -> SENT in the store keeps two instances from both sending it).
/// </summary>
public sealed class ClusterDelivery(ClusterSignals signals, JobDispatcher dispatcher, JobStore jobs, ILogger<ClusterDelivery> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        signals.JobWaiting += OnJobWaitingAsync;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        signals.JobWaiting -= OnJobWaitingAsync;
        return Task.CompletedTask;
    }

    private async Task OnJobWaitingAsync(string agentId)
    {
        if (!dispatcher.TakesJobs(agentId)) return; // not ours, or not taking jobs yet (its backlog sends them)
        try
        {
            var waiting = (await jobs.OpenJobsAsync(agentId, CancellationToken.None)).Where(j => j.Status == JobStatuses.Pending);
            dispatcher.RequeueDue(waiting);
        }
        catch (Exception e)
        {
            logger.BackgroundTickFailed(e, nameof(ClusterDelivery));
        }
    }
}
