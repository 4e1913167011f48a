using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Jobs.Retention;

/// <summary>
/// Deletes finished jobs once they are older than the retention age, and their output sooner when so set, in small
/// batches so no other write waits long behind one. Kept whatever their age: the jobs that made a revision (its history
/// and rollbacks point at them), those a deployment or a rollout names, and the newest
/// <see cref="ControlPlaneOptions.JobRetentionKeep"/> of every project and of every agent. Open jobs are never touched.
/// </summary>
public sealed class JobRetention(
    IDbContextFactory<InstaDeployDbContext> contexts,
    DatabaseWriteGate writes,
    IOptions<ControlPlaneOptions> options,
    TimeProvider time)
{
    /// <summary>Rows one statement deletes or changes: small enough that the write lock is held for milliseconds.</summary>
    public const int BatchSize = 500;

    /// <summary>Jobs created before this have had their output cleared (or had none, or were open when passed).</summary>
    private DateTimeOffset _outputClearedFrom = DateTimeOffset.MinValue;

    private static readonly string[] Finished = [JobStatuses.Completed, JobStatuses.Failed, JobStatuses.TimedOut, JobStatuses.Expired];

    /// <summary>What one sweep did.</summary>
    public readonly record struct Sweep(int JobsDeleted, int OutputsCleared, bool More);

    /// <summary>
    /// One sweep: at most <paramref name="maxBatches"/> batches of jobs deleted, then as many of outputs cleared.
    /// <c>More</c> says there was more to do than the batches allowed; the next sweep goes on.
    /// </summary>
    public async Task<Sweep> SweepAsync(int maxBatches, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.JobRetentionDays == 0 && settings.JobOutputRetentionDays == 0) return default;
        var now = time.GetUtcNow();
        int deleted = 0, cleared = 0;
        var more = false;

        if (settings.JobRetentionDays > 0)
        {
            var cutoff = now - TimeSpan.FromDays(settings.JobRetentionDays);
            for (var batch = 0; batch < maxBatches; batch++)
            {
                var count = await DeleteBatchAsync(cutoff, settings.JobRetentionKeep, cancellationToken);
                deleted += count;
                if (count < BatchSize) break;
                more = batch == maxBatches - 1;
            }
        }
        if (settings.JobOutputRetentionDays > 0)
        {
            var cutoff = now - TimeSpan.FromDays(settings.JobOutputRetentionDays);
            for (var batch = 0; batch < maxBatches; batch++)
            {
                var count = await ClearOutputBatchAsync(cutoff, cancellationToken);
                cleared += count;
                if (count < BatchSize) break;
                more |= batch == maxBatches - 1;
            }
        }
        if (deleted > 0) await ReleaseFreePagesAsync(cancellationToken);
        return new Sweep(deleted, cleared, more);
    }

    /// <summary>
    /// For a job id that is not found: whether retention would have deleted a job created when the id says (job ids are
    /// UUIDv7, so they carry their creation time), so the answer can say it was removed rather than that it never was.
    /// </summary>
    public bool MayHaveRemoved(string jobId)
    {
        var days = options.Value.JobRetentionDays;
        if (days == 0 || !JobIds.IsValid(jobId)) return false;
        var created = DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(jobId.AsSpan(4, 12).ToString(), 16));
        return created < time.GetUtcNow() - TimeSpan.FromDays(days);
    }

    /// <summary>The 404 detail for a job that is not found, naming retention when it may be why.</summary>
    public string NotFoundDetail(string jobId) => MayHaveRemoved(jobId)
        ? $"No job '{jobId}': it was created more than {options.Value.JobRetentionDays} days ago, and finished jobs older than that are removed by retention (INSTADEPLOY_JOB_RETENTION_DAYS). The revisions and deployments it made are kept; GET /jobs lists the jobs there are."
        : $"No job '{jobId}'. GET /jobs lists jobs.";

    private async Task<int> DeleteBatchAsync(DateTimeOffset cutoff, int keep, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // In the order of the (Status, CreatedAt) index, so a batch reads its 500 rows and stops, whatever the history holds
        // (oldest first by CreatedAt alone made SQLite gather every candidate and sort them: seconds a batch at 20,000 jobs).
        var ids = await Deletable(db, cutoff, keep).OrderBy(j => j.Status).ThenBy(j => j.CreatedAt).Select(j => j.Id).Take(BatchSize).ToListAsync(cancellationToken);
        if (ids.Count == 0) return 0;
        using var _ = await writes.EnterAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.JobOutput.Where(c => ids.Contains(c.JobId)).ExecuteDeleteAsync(cancellationToken);
        // Checked again under the write lock: a row that changed since it was chosen (a late result) is left alone.
        var count = await db.Jobs.Where(j => ids.Contains(j.Id) && Finished.Contains(j.Status) && j.CompletedAt < cutoff).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return count;
    }

    /// <summary>The finished jobs older than <paramref name="cutoff"/> that nothing kept needs.</summary>
    private static IQueryable<JobEntity> Deletable(InstaDeployDbContext db, DateTimeOffset cutoff, int keep) =>
        // CreatedAt bounds the index range (a job is created before it completes).
        db.Jobs.Where(j => Finished.Contains(j.Status) && j.CreatedAt < cutoff && j.CompletedAt < cutoff)
            .Where(j => !db.Revisions.Any(r => r.JobId == j.Id))
            .Where(j => !db.Deployments.Any(d => d.LastJobId == j.Id || d.PreviousJobId == j.Id))
            .Where(j => !db.RolloutTargets.Any(t => t.JobId == j.Id || t.RollbackJobId == j.Id))
            // Not among the newest `keep` of its agent, nor of its project: the keep-th newest one's time bounds them.
            .Where(j => keep == 0 || j.CreatedAt < db.Jobs.Where(o => o.AgentId == j.AgentId)
                .OrderByDescending(o => o.CreatedAt).Skip(keep - 1).Select(o => (DateTimeOffset?)o.CreatedAt).FirstOrDefault())
            .Where(j => keep == 0 || j.ProjectName == null || j.CreatedAt < db.Jobs.Where(o => o.ProjectName == j.ProjectName)
                .OrderByDescending(o => o.CreatedAt).Skip(keep - 1).Select(o => (DateTimeOffset?)o.CreatedAt).FirstOrDefault());

    private async Task<int> ClearOutputBatchAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // From where the last batch ended, by creation: jobs cleared already are not read again, so a batch costs the same
        // at any history (after a restart, the first one walks the history once).
        var from = _outputClearedFrom;
        var batch = await db.Jobs.Where(j => j.CreatedAt >= from && j.CreatedAt < cutoff && Finished.Contains(j.Status) && j.CompletedAt < cutoff && j.Logs != "")
            .OrderBy(j => j.CreatedAt).Select(j => new { j.Id, j.CreatedAt }).Take(BatchSize).ToListAsync(cancellationToken);
        if (batch.Count == 0) return 0;
        var ids = batch.Select(j => j.Id).ToList();
        _outputClearedFrom = batch[^1].CreatedAt;
        using var _ = await writes.EnterAsync(cancellationToken);
        return await db.Jobs.Where(j => ids.Contains(j.Id) && j.CompletedAt < cutoff)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Logs, "").SetProperty(j => j.LogLinesDropped, 0), cancellationToken);
    }

    /// <summary>
    /// Deleted rows leave free pages that later writes reuse, so the file stops growing under a steady load either way;
    /// a database made with incremental auto-vacuum also gives them back to the disk, a few at a time.
    /// </summary>
    private async Task ReleaseFreePagesAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!db.Database.IsSqlite()) return; // PostgreSQL: autovacuum reuses the space
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync(cancellationToken);
        await using var mode = connection.CreateCommand();
        mode.CommandText = "PRAGMA auto_vacuum";
        if (Convert.ToInt64(await mode.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) != 2) return;
        // A chunk of pages at a time, each under the write gate on its own, so other writers go between chunks; until the
        // free list is empty (jobs with long output free more pages than their count suggests), within a bound.
        await using var free = connection.CreateCommand();
        free.CommandText = "PRAGMA freelist_count";
        await using var vacuum = connection.CreateCommand();
        vacuum.CommandText = $"PRAGMA incremental_vacuum({VacuumChunkPages})";
        for (var chunk = 0; chunk < MaxVacuumChunks; chunk++)
        {
            if (Convert.ToInt64(await free.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 0) return;
            using var _ = await writes.EnterAsync(cancellationToken);
            await vacuum.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Pages one incremental vacuum step gives back (8 MiB of 4 KiB pages), and most steps one sweep takes.</summary>
    private const int VacuumChunkPages = 2000, MaxVacuumChunks = 50;
}
