using InstaDeploy.ControlPlane.Infrastructure;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>Ends jobs that passed their deadline as TIMED_OUT (and queued ones past their expiry as EXPIRED), checking once
/// a second (on the injected clock).</summary>
public sealed class JobTimeoutService(JobStore jobs, Delivery.IAgentLinks links, Delivery.JobDispatcher dispatcher, TimeProvider time, ILogger<JobTimeoutService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    // Connected means attached before the deadlines are read: an agent that has just reconnected gets the
                    // time it was away back first, and that is stored before it counts as attached.
                    var attached = dispatcher.AttachedAgents();
                    var count = await jobs.TimeOutExpiredAsync(agent => attached.Contains(agent) && links.TryGet(agent, out _), stoppingToken);
                    if (count > 0) logger.JobsTimedOut(count);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.BackgroundTickFailed(e, nameof(JobTimeoutService)); // e.g. the database is busy; next tick retries
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
