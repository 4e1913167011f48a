using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Jobs.Retention;

/// <summary>Runs a retention sweep every INSTADEPLOY_RETENTION_INTERVAL_SECONDS (on the injected clock), and straight
/// again while a sweep left more than its batches allowed, with a pause between, so a backlog drains without holding the
/// database.</summary>
public sealed class JobRetentionService(JobRetention retention, IOptions<ControlPlaneOptions> options, TimeProvider time, ILogger<JobRetentionService> logger) : BackgroundService
{
    private const int BatchesPerSweep = 20;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (settings.JobRetentionDays == 0 && settings.JobOutputRetentionDays == 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.RetentionIntervalSeconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    JobRetention.Sweep sweep;
                    do
                    {
                        sweep = await retention.SweepAsync(BatchesPerSweep, stoppingToken);
                        if (sweep.JobsDeleted > 0 || sweep.OutputsCleared > 0) logger.RetentionSwept(sweep.JobsDeleted, sweep.OutputsCleared);
                        if (sweep.More) await Task.Delay(TimeSpan.FromMilliseconds(200), stoppingToken); // real time: the pause is for other writers
                    }
                    while (sweep.More);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.BackgroundTickFailed(e, nameof(JobRetentionService));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
