using System.Diagnostics;
using System.Globalization;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Jobs.Retention;

/// <summary>
/// Deletes finished jobs once they are older than the retention age, and their output sooner when so set, in short
/// batches so no other write waits long behind one. Kept whatever their age: the jobs that made a revision (its history
/// and rollbacks point at them), those a deployment or a rollout names, and the newest
/// <see cref="ControlPlaneOptions.JobRetentionKeep"/> of every project and of every agent. Open jobs are never touched.
/// </summary>
/// <remarks>
/// What a batch costs does not depend on how much history there is: candidates are read oldest first from the
/// (CreatedAt, Id) index after where the previous batch stopped; the newest-N rule becomes one cutoff time per agent and
/// per project, looked up once a sweep by index (<see cref="KeepCutoffs"/>); what revisions, deployments and rollouts
/// name is checked row by row by their indexes in the delete itself.
/// </remarks>
public sealed class JobRetention(
    IDbContextFactory<InstaDeployDbContext> contexts,
    DatabaseWriteGate writes,
    IOptions<ControlPlaneOptions> options,
    TimeProvider time)
{
    /// <summary>The unit of a batch: it reads twice this many candidates at first, then as many as the deletes' time allows,
    /// between half and eight times this.</summary>
    public const int BatchSize = 500;

    /// <summary>How long one batch's delete statements may hold the write lock (SQLite has one writer: every other write
    /// waits that long, plus the commit). On an idle machine a batch of 4,000 takes a few tens of milliseconds; the target
    /// is for a machine starved of CPU, where wall time stretches many times over: with a tighter one (50 ms was tried) the
    /// batches shrink until their fixed costs dominate and a backlog of a million drains at 1,000 rows a second.</summary>
    private static readonly TimeSpan WriteTarget = TimeSpan.FromMilliseconds(200);

    /// <summary>Retention's share of the one writer: after each batch or step it rests twice as long as it held the write
    /// gate (commit included), so the hot path has the writer at least two thirds of the time however large the backlog
    /// (a million expired jobs drain in minutes rather than seconds, and requests do not queue behind them).</summary>
    private const int RestPerHeld = 2;

    private static readonly TimeSpan MaxRest = TimeSpan.FromSeconds(1);

    private static readonly string[] Finished = [JobStatuses.Completed, JobStatuses.Failed, JobStatuses.TimedOut, JobStatuses.Expired];

    private readonly Pacer _deletes = new(2 * BatchSize, BatchSize / 2, 8 * BatchSize);
    private readonly Pacer _vacuum = new(VacuumChunkPages, 128, 16 * VacuumChunkPages);

    /// <summary>Where the current pass over the expired jobs has got to (null: the next batch starts from the oldest).
    /// A pass reads every candidate once; jobs kept in one pass are looked at again in the next.</summary>
    private (DateTimeOffset At, string Id)? _deleteFrom;

    /// <summary>Jobs created before this have had their output cleared (or had none, or were open when passed).</summary>
    private DateTimeOffset _outputClearedFrom = DateTimeOffset.MinValue;

    /// <summary>What one sweep did.</summary>
    public readonly record struct Sweep(int JobsDeleted, int OutputsCleared, bool More);

    /// <summary>
    /// One sweep: at most <paramref name="maxBatches"/> batches of expired jobs read and deleted, then (once no expired
    /// jobs are left to look at) as many of outputs cleared. <c>More</c> says there was more to do than the batches
    /// allowed; the next sweep goes on.
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
            var keep = new KeepCutoffs(settings.JobRetentionKeep);
            for (var batch = 0; batch < maxBatches; batch++)
            {
                var (count, passDone, held) = await DeleteBatchAsync(cutoff, keep, cancellationToken);
                deleted += count;
                await RestAsync(held, cancellationToken);
                if (passDone) break;
                more = batch == maxBatches - 1;
            }
        }
        // Output of jobs about to be deleted is not worth a write of its own: it goes with them.
        if (settings.JobOutputRetentionDays > 0 && !more)
        {
            var cutoff = now - TimeSpan.FromDays(settings.JobOutputRetentionDays);
            for (var batch = 0; batch < maxBatches; batch++)
            {
                var (count, held) = await ClearOutputBatchAsync(cutoff, cancellationToken);
                cleared += count;
                await RestAsync(held, cancellationToken);
                if (count < BatchSize) break;
                more |= batch == maxBatches - 1;
            }
        }
        // Every sweep, not only those that deleted: a backlog frees pages faster than the steps of one sweep give back.
        await ReleaseFreePagesAsync(cancellationToken);
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

    /// <summary>One batch: the next candidates of the pass, those no rule keeps deleted in one short transaction.
    /// <c>PassDone</c>: no candidates were left after these, and the next batch starts a new pass.</summary>
    private async Task<(int Deleted, bool PassDone, TimeSpan Held)> DeleteBatchAsync(DateTimeOffset cutoff, KeepCutoffs keep, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var take = _deletes.Size;
        // A job is created before it completes, so CreatedAt < cutoff bounds the range of the (CreatedAt, Id) index.
        var query = db.Jobs.AsNoTracking().Where(j => j.CreatedAt < cutoff);
        if (_deleteFrom is var (fromAt, fromId))
            // EF Core translates the two-argument string.Compare to the database's own (ordinal for these ASCII ids)
            // comparison; the overload with a StringComparison that CA1309 asks for has no translation.
#pragma warning disable CA1309
            query = query.Where(j => j.CreatedAt >= fromAt && (j.CreatedAt > fromAt || string.Compare(j.Id, fromId) > 0));
#pragma warning restore CA1309
        var rows = await query.OrderBy(j => j.CreatedAt).ThenBy(j => j.Id)
            .Select(j => new { j.Id, j.CreatedAt, j.AgentId, j.ProjectName, j.Status, j.CompletedAt })
            .Take(take).ToListAsync(cancellationToken);
        var passDone = rows.Count < take;
        _deleteFrom = passDone ? null : (rows[^1].CreatedAt, rows[^1].Id);

        var expired = rows.Where(j => Finished.Contains(j.Status) && j.CompletedAt < cutoff).ToList();
        var ids = new List<string>(expired.Count);
        foreach (var job in expired)
            if (await keep.AllowsAsync(db, job.AgentId, job.ProjectName, job.CreatedAt, cancellationToken))
                ids.Add(job.Id);
        if (ids.Count == 0) return (0, passDone, TimeSpan.Zero);

        using var _ = await writes.EnterAsync(cancellationToken);
        var gate = Stopwatch.StartNew();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // The statements are timed, not the commit: its sync costs the same for 10 rows as for 4,000 (200 ms on a busy
        // disk), so pacing on it would shrink the batches while the lock is held just as long.
        var held = Stopwatch.StartNew();
        // Checked again in the delete: a row that changed since it was read (a late result) is left alone, and a job that
        // a revision, a deployment or a rollout names is found by their JobId indexes, one lookup a row.
        // Looked up by the primary key. SQLite's planner, given Id IN (the batch) and Status IN (four values), takes the
        // (Status, CreatedAt) index and reads every finished job of the history for each batch, holding the write lock for
        // seconds at a million jobs: the status is compared as an expression (Status || ''), which no index serves.
        var count = await db.Jobs.Where(j => EF.Constant(ids).Contains(j.Id) && Finished.Contains(j.Status + "") && j.CompletedAt < cutoff)
            .Where(j => !db.Revisions.Any(r => r.JobId == j.Id))
            .Where(j => !db.Deployments.Any(d => d.LastJobId == j.Id || d.PreviousJobId == j.Id))
            .Where(j => !db.RolloutTargets.Any(t => t.JobId == j.Id || t.RollbackJobId == j.Id))
            .ExecuteDeleteAsync(cancellationToken);
        if (count > 0)
            await db.JobOutput.Where(c => ids.Contains(c.JobId) && !db.Jobs.Any(j => j.Id == c.JobId)).ExecuteDeleteAsync(cancellationToken);
        _deletes.Took(held.Elapsed, WriteTarget);
        await transaction.CommitAsync(cancellationToken);
        return (count, passDone, gate.Elapsed);
    }

    /// <summary>
    /// The newest-N rule as a time per agent and per project: the CreatedAt of its N-th newest job, looked up by the
    /// (AgentId, CreatedAt) or (ProjectName, CreatedAt) index the first time a sweep meets it (N index entries read),
    /// so a sweep costs one lookup per agent and project it meets, whatever the history holds. A job strictly older than
    /// both its agent's and its project's is not among the newest N of either. New jobs only move a cutoff later, so one
    /// looked up earlier in the sweep keeps more, never less.
    /// </summary>
    private sealed class KeepCutoffs(int keep)
    {
        private readonly Dictionary<string, DateTimeOffset?> _agents = new(StringComparer.Ordinal);
        private readonly Dictionary<string, DateTimeOffset?> _projects = new(StringComparer.Ordinal);

        public async ValueTask<bool> AllowsAsync(InstaDeployDbContext db, string agentId, string? projectName, DateTimeOffset createdAt, CancellationToken cancellationToken)
        {
            if (keep == 0) return true;
            if (!_agents.TryGetValue(agentId, out var agentCutoff))
                _agents[agentId] = agentCutoff = await db.Jobs.Where(o => o.AgentId == agentId).OrderByDescending(o => o.CreatedAt)
                    .Skip(keep - 1).Select(o => (DateTimeOffset?)o.CreatedAt).FirstOrDefaultAsync(cancellationToken);
            if (agentCutoff is not { } agentAt || createdAt >= agentAt) return false;
            if (projectName is null) return true;
            if (!_projects.TryGetValue(projectName, out var projectCutoff))
                _projects[projectName] = projectCutoff = await db.Jobs.Where(o => o.ProjectName == projectName).OrderByDescending(o => o.CreatedAt)
                    .Skip(keep - 1).Select(o => (DateTimeOffset?)o.CreatedAt).FirstOrDefaultAsync(cancellationToken);
            return projectCutoff is { } projectAt && createdAt < projectAt;
        }
    }

    private async Task<(int Cleared, TimeSpan Held)> ClearOutputBatchAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // From where the last batch ended, by creation: jobs cleared already are not read again, so a batch costs the same
        // at any history (after a restart, the first one walks the history once).
        var from = _outputClearedFrom;
        var batch = await db.Jobs.Where(j => j.CreatedAt >= from && j.CreatedAt < cutoff && Finished.Contains(j.Status) && j.CompletedAt < cutoff && j.Logs != "")
            .OrderBy(j => j.CreatedAt).Select(j => new { j.Id, j.CreatedAt }).Take(BatchSize).ToListAsync(cancellationToken);
        if (batch.Count == 0) return (0, TimeSpan.Zero);
        var ids = batch.Select(j => j.Id).ToList();
        _outputClearedFrom = batch[^1].CreatedAt;
        using var _ = await writes.EnterAsync(cancellationToken);
        var gate = Stopwatch.StartNew();
        var cleared = await db.Jobs.Where(j => ids.Contains(j.Id) && j.CompletedAt < cutoff)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Logs, "").SetProperty(j => j.LogLinesDropped, 0), cancellationToken);
        return (cleared, gate.Elapsed);
    }

    /// <summary>
    /// Deleted rows leave free pages that later writes reuse, so the file stops growing under a steady load either way;
    /// a database made with incremental auto-vacuum also gives them back to the disk, a step at a time.
    /// </summary>
    private async Task ReleaseFreePagesAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!db.Database.IsSqlite()) return; // PostgreSQL: autovacuum reuses the space
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync(cancellationToken);
        await using var mode = connection.CreateCommand();
        mode.CommandText = "PRAGMA auto_vacuum";
        if (Convert.ToInt64(await mode.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) != 2) return;
        // A step of pages at a time, each under the write gate on its own and sized so it holds the lock no longer than a
        // delete does, so other writers go between steps; until the free list is empty (jobs with long output free more
        // pages than their count suggests), within a bound.
        await using var free = connection.CreateCommand();
        free.CommandText = "PRAGMA freelist_count";
        await using var vacuum = connection.CreateCommand();
        for (var step = 0; step < MaxVacuumSteps; step++)
        {
            if (Convert.ToInt64(await free.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0) return;
            vacuum.CommandText = $"PRAGMA incremental_vacuum({_vacuum.Size})";
            var gate = Stopwatch.StartNew();
            using (await writes.EnterAsync(cancellationToken))
            {
                gate.Restart();
                // In a transaction of its own so the step is timed without its commit's sync (see DeleteBatchAsync).
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                vacuum.Transaction = transaction;
                var held = Stopwatch.StartNew();
                await vacuum.ExecuteNonQueryAsync(cancellationToken);
                _vacuum.Took(held.Elapsed, WriteTarget);
                await transaction.CommitAsync(cancellationToken);
            }
            await RestAsync(gate.Elapsed, cancellationToken);
        }
    }

    /// <summary>The rest after holding the write gate for <paramref name="held"/> (real time: it is for the other writers).</summary>
    private static Task RestAsync(TimeSpan held, CancellationToken cancellationToken) =>
        held <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(TimeSpan.FromTicks(Math.Min(held.Ticks * RestPerHeld, MaxRest.Ticks)), cancellationToken);

    /// <summary>Pages one incremental vacuum step gives back at first (2 MiB of 4 KiB pages), and most steps one sweep takes.</summary>
    private const int VacuumChunkPages = 512, MaxVacuumSteps = 20;

    /// <summary>A step size that follows how long steps take: halved when one held the lock past the target, grown by a
    /// quarter when one took under a third of it, within bounds.</summary>
    private sealed class Pacer(int start, int min, int max)
    {
        public int Size { get; private set; } = start;

        public void Took(TimeSpan elapsed, TimeSpan target)
        {
            if (elapsed > target) Size = Math.Max(min, Size / 2);
            else if (elapsed < target / 3) Size = Math.Min(max, Size + Size / 4);
        }
    }
}
