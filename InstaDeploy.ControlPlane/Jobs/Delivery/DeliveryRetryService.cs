using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Jobs.Delivery;

/// <summary>
/// Nothing waits for an event that will not come: every few seconds, jobs left waiting for a connected agent (a send
/// that failed, a job stored while the agent attached) are queued to it again, and sent jobs of an agent that remembers
/// jobs that have shown no sign of life are sent again with backoff (30 s, then doubling to 10 min): the agent answers a
/// repeat from its journal, or ignores it while the job runs.
/// </summary>
public sealed class DeliveryRetryService(
    IDbContextFactory<InstaDeployDbContext> databases, JobDispatcher dispatcher, TimeProvider time, ILogger<DeliveryRetryService> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FirstResend = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LongestResend = TimeSpan.FromMinutes(10);
    private const int Batch = 1000;

    private readonly Dictionary<string, (int Attempts, DateTimeOffset Due)> _resends = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await RetryAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.BackgroundTickFailed(e, nameof(DeliveryRetryService));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One round; returns how many jobs were queued again.</summary>
    public async Task<int> RetryAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var settled = now - Interval;
        var waiting = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatuses.Pending && j.UpdatedAt < settled && db.Agents.Any(a => a.Id == j.AgentId && a.Online))
            .OrderBy(j => j.CreatedAt).Take(Batch).ToListAsync(cancellationToken);
        var quietSince = now - FirstResend;
        var quiet = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatuses.Sent && j.SentAt < quietSince && db.Agents.Any(a => a.Id == j.AgentId && a.Online))
            .OrderBy(j => j.SentAt).Take(Batch).ToListAsync(cancellationToken);

        var due = new List<JobEntity>(waiting);
        var stillQuiet = new HashSet<string>(StringComparer.Ordinal);
        foreach (var job in quiet)
        {
            stillQuiet.Add(job.Id);
            var (attempts, next) = _resends.TryGetValue(job.Id, out var known) ? known : (0, job.SentAt!.Value + FirstResend);
            if (next > now) continue;
            due.Add(job);
            var wait = TimeSpan.FromTicks(Math.Min(LongestResend.Ticks, FirstResend.Ticks << Math.Min(attempts + 1, 10)));
            _resends[job.Id] = (attempts + 1, now + wait);
        }
        foreach (var gone in _resends.Keys.Where(id => !stillQuiet.Contains(id)).ToList()) _resends.Remove(gone);
        var queued = dispatcher.RequeueDue(due);
        if (queued > 0) logger.JobsRequeued(queued);
        return queued;
    }
}
