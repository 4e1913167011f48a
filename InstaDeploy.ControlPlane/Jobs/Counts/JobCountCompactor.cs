using System.Data.Common;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;

namespace InstaDeploy.ControlPlane.Jobs.Counts;

/// <summary>
/// On PostgreSQL, folds the appended job-count deltas into the counters every few seconds, so a count reads a row per
/// agent and status plus the few deltas since. One statement deletes exactly the deltas it adds up (a delta committed
/// meanwhile stays for the next pass), and several instances compacting at once never count one twice: the second
/// waits for the first's deleted rows and then skips them.
/// </summary>
public sealed class JobCountCompactor(Database database, ILogger<JobCountCompactor> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>Counters are taken in key order, so two compactions lock them in the same order.</summary>
    private const string Compact = """
        WITH moved AS (DELETE FROM "JobCountDeltas" RETURNING "AgentId", "Status", "Delta")
        INSERT INTO "JobCounts" ("AgentId", "Status", "Count")
        SELECT "AgentId", "Status", SUM("Delta") FROM moved GROUP BY "AgentId", "Status" ORDER BY "AgentId", "Status"
        ON CONFLICT ("AgentId", "Status") DO UPDATE SET "Count" = "JobCounts"."Count" + EXCLUDED."Count"
        """;

    /// <summary>One pass; the number of counters changed.</summary>
    public async Task<int> CompactAsync(CancellationToken cancellationToken)
    {
        await using DbConnection connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Sql(Compact);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!database.IsPostgres) return;
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await CompactAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.BackgroundTickFailed(e, nameof(JobCountCompactor));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
