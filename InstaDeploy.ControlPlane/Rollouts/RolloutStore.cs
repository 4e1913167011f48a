using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>
/// Every write of a rollout outside its jobs' transactions: creating it, moving its state, and changing targets that
/// get no job (skipped, refused, cancelled). Each change is conditional on the state it leaves, and adds its event in
/// the same transaction.
/// </summary>
public sealed class RolloutStore(IDbContextFactory<InstaDeployDbContext> databases, DatabaseWriteGate writes, RolloutSignals signals, Audit.AuditLog audit, TimeProvider time)
{
    /// <summary>Stores a new rollout; with <paramref name="actor"/>, its audit entry goes into the same transaction.</summary>
    public async Task CreateAsync(RolloutEntity rollout, IReadOnlyList<RolloutTargetEntity> targets, Audit.AuditActor? actor, CancellationToken cancellationToken)
    {
        using (var write = await writes.EnterAsync(cancellationToken))
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            db.Rollouts.Add(rollout);
            db.RolloutTargets.AddRange(targets);
            AddRolloutEvent(db, rollout, targets, rollout.CreatedAt);
            if (actor is not null)
                audit.Add(db, actor, Audit.AuditActions.RolloutCreate, $"project:{rollout.ProjectName} rollout:{rollout.Id}", Audit.AuditOutcomes.Succeeded, 201, $"{targets.Count} target(s)",
                    new
                    {
                        project_name = rollout.ProjectName, compose_sha256 = rollout.ComposeSha256, rollout.Selector, agent_ids = targets.Count <= 50 ? targets.Select(t => t.AgentId).ToArray() : null,
                        targets = targets.Count, max_parallel = rollout.MaxParallelSpec, canary = rollout.CanaryCount, on_failure = rollout.OnFailure, rollback_to = rollout.RollbackTo
                    });
            await db.SaveChangesAsync(cancellationToken);
        }
        signals.Notify(rollout.Id);
    }

    public async Task<(RolloutEntity Rollout, List<RolloutTargetEntity> Targets)?> ReadAsync(string rolloutId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var rollout = await db.Rollouts.AsNoTracking().FirstOrDefaultAsync(r => r.Id == rolloutId, cancellationToken);
        if (rollout is null) return null;
        var targets = await db.RolloutTargets.AsNoTracking().Where(t => t.RolloutId == rolloutId).OrderBy(t => t.Ordinal).ToListAsync(cancellationToken);
        return (rollout, targets);
    }

    /// <summary>
    /// Whether a step of a pending or running rollout would only wait: its current batch is deploying with none of it
    /// left to start, and on_failure has nothing to act on. One aggregate over the targets instead of reading them
    /// all, as the step runs at every job's end.
    /// </summary>
    public async Task<bool> OnlyWaitsAsync(string rolloutId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var rollout = await db.Rollouts.AsNoTracking().Where(r => r.Id == rolloutId)
            .Select(r => new { r.State, r.OnFailure, r.MaxFailures, r.FailuresAccepted }).FirstOrDefaultAsync(cancellationToken);
        if (rollout is null || rollout.State is not (RolloutStates.Pending or RolloutStates.Running)) return false;
        var counts = await db.RolloutTargets.AsNoTracking().Where(t => t.RolloutId == rolloutId)
            .GroupBy(t => new { t.Batch, t.State }).Select(g => new { g.Key.Batch, g.Key.State, Count = g.Count() }).ToListAsync(cancellationToken);
        var failed = counts.Where(c => c.State == RolloutTargetStates.Failed).Sum(c => c.Count);
        if (rollout.OnFailure != RolloutFailureActions.Continue && failed - rollout.FailuresAccepted >= rollout.MaxFailures) return false;
        var open = counts.Where(c => c.State is RolloutTargetStates.Waiting or RolloutTargetStates.Deploying).ToList();
        if (open.Count == 0) return false;
        var batch = open.Min(c => c.Batch);
        return open.Any(c => c.Batch == batch && c.State == RolloutTargetStates.Deploying) && !open.Any(c => c.Batch == batch && c.State == RolloutTargetStates.Waiting);
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the rollout (and, through it, to its targets) if its state is one of
    /// <paramref name="from"/>, with a <c>rollout</c> event; returns the rollout as changed, or null when its state was
    /// not one of those (someone else moved it first).
    /// </summary>
    public async Task<RolloutEntity?> ChangeAsync(string rolloutId, string[] from, Func<RolloutEntity, List<RolloutTargetEntity>, DateTimeOffset, bool> change, CancellationToken cancellationToken,
        (Audit.AuditActor Actor, string Action)? audited = null)
    {
        RolloutEntity? changed = null;
        using (var write = await writes.EnterAsync(cancellationToken))
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            await using var transaction = await RolloutLocks.BeginLockedAsync(db, rolloutId, cancellationToken);
            var rollout = await db.Rollouts.FirstOrDefaultAsync(r => r.Id == rolloutId, cancellationToken);
            if (rollout is null || !from.Contains(rollout.State)) return null;
            var targets = await db.RolloutTargets.Where(t => t.RolloutId == rolloutId).OrderBy(t => t.Ordinal).ToListAsync(cancellationToken);
            var now = time.GetUtcNow();
            if (!change(rollout, targets, now)) return rollout;
            rollout.UpdatedAt = now;
            foreach (var target in targets.Where(t => db.Entry(t).State == EntityState.Modified))
                AddTargetEvent(db, rollout, target, now);
            AddRolloutEvent(db, rollout, targets, now);
            if (audited is var (actor, action))
                audit.Add(db, actor, action, $"project:{rollout.ProjectName} rollout:{rollout.Id}", Audit.AuditOutcomes.Succeeded, 200, rollout.Reason, new { state = rollout.State });
            await db.SaveChangesAsync(cancellationToken);
            if (transaction is not null) await transaction.CommitAsync(cancellationToken);
            changed = rollout;
        }
        signals.Notify(rolloutId);
        return changed;
    }

    /// <summary>Sets targets that get no job (skipped, refused) to their final state, with their events; each only if it
    /// is still waiting (with <paramref name="restore"/>: still waiting for its restore).</summary>
    public async Task FinishWithoutJobAsync(string rolloutId, IReadOnlyList<(int Ordinal, string State, string Error)> outcomes, bool restore, CancellationToken cancellationToken)
    {
        if (outcomes.Count == 0) return;
        using (var write = await writes.EnterAsync(cancellationToken))
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            await using var transaction = await RolloutLocks.BeginLockedAsync(db, rolloutId, cancellationToken);
            var rollout = await db.Rollouts.FirstAsync(r => r.Id == rolloutId, cancellationToken);
            var ordinals = outcomes.Select(o => o.Ordinal).ToList();
            var targets = await db.RolloutTargets.Where(t => t.RolloutId == rolloutId && ordinals.Contains(t.Ordinal)).ToDictionaryAsync(t => t.Ordinal, cancellationToken);
            var now = time.GetUtcNow();
            foreach (var (ordinal, state, error) in outcomes)
            {
                if (!targets.TryGetValue(ordinal, out var target)) continue;
                if (restore ? target.RollbackJobId is not null || target.State is not (RolloutTargetStates.Succeeded or RolloutTargetStates.Failed)
                    : target.State != RolloutTargetStates.Waiting) continue;
                (target.State, target.Error, target.FinishedAt) = (state, string.IsNullOrEmpty(target.Error) ? error : $"{target.Error}; {error}", now);
                AddTargetEvent(db, rollout, target, now);
            }
            rollout.UpdatedAt = now;
            await db.SaveChangesAsync(cancellationToken);
            if (transaction is not null) await transaction.CommitAsync(cancellationToken);
        }
        signals.Notify(rolloutId);
    }

    /// <summary>Targets whose job ended without the target being told (the safety net after a restart): their state is
    /// set from the jobs table, by the rule the job hook applies.</summary>
    public async Task<int> ReconcileAsync(string rolloutId, CancellationToken cancellationToken)
    {
        await using (var read = await databases.CreateDbContextAsync(cancellationToken))
        {
            var jobIds = await read.RolloutTargets.AsNoTracking()
                .Where(t => t.RolloutId == rolloutId && (t.State == RolloutTargetStates.Deploying || t.State == RolloutTargetStates.RollingBack))
                .Select(t => t.State == RolloutTargetStates.RollingBack ? t.RollbackJobId : t.JobId).ToListAsync(cancellationToken);
            if (jobIds.Count == 0 || !await read.Jobs.AnyAsync(j => jobIds.Contains(j.Id) && j.CompletedAt != null, cancellationToken)) return 0;
        }
        var fixedCount = 0;
        using (var write = await writes.EnterAsync(cancellationToken))
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            await using var transaction = await RolloutLocks.BeginLockedAsync(db, rolloutId, cancellationToken);
            var rollout = await db.Rollouts.FirstAsync(r => r.Id == rolloutId, cancellationToken);
            var open = await db.RolloutTargets.Where(t => t.RolloutId == rolloutId && (t.State == RolloutTargetStates.Deploying || t.State == RolloutTargetStates.RollingBack)).ToListAsync(cancellationToken);
            foreach (var target in open)
            {
                var jobId = target.State == RolloutTargetStates.RollingBack ? target.RollbackJobId! : target.JobId!;
                var job = await db.Jobs.AsNoTracking().Where(j => j.Id == jobId).Select(j => new { j.Status, j.Error, j.CompletedAt }).FirstOrDefaultAsync(cancellationToken);
                if (job?.CompletedAt is not { } ended) continue;
                var revision = await db.Revisions.Where(r => r.JobId == jobId).Select(r => (int?)r.Number).FirstOrDefaultAsync(cancellationToken);
                RolloutJobs.Apply(target, jobId, job.Status, job.Error, revision, ended);
                AddTargetEvent(db, rollout, target, time.GetUtcNow());
                fixedCount++;
            }
            await db.SaveChangesAsync(cancellationToken);
            if (transaction is not null) await transaction.CommitAsync(cancellationToken);
        }
        signals.Notify(rolloutId);
        return fixedCount;
    }

    /// <summary>Claims the right to act on the rollout for <paramref name="lease"/>: a conditional update that only one
    /// engine instance wins while the lease of another has not run out.</summary>
    public async Task<bool> TryLeaseAsync(string rolloutId, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var until = now + lease;
        return await db.Rollouts
            .Where(r => r.Id == rolloutId && RolloutStates.Open.Contains(r.State) && (r.LeaseOwner == null || r.LeaseOwner == owner || r.LeaseUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.LeaseOwner, owner).SetProperty(r => r.LeaseUntil, until), cancellationToken) == 1;
    }

    /// <summary>The rollouts that are not finished, oldest first, with their project.</summary>
    public async Task<List<(string Id, string Project)>> OpenAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var open = await db.Rollouts.AsNoTracking().Where(r => RolloutStates.Open.Contains(r.State))
            .OrderBy(r => r.CreatedAt).Select(r => new { r.Id, r.ProjectName }).ToListAsync(cancellationToken);
        return [.. open.Select(r => (r.Id, r.ProjectName))];
    }

    internal static void AddRolloutEvent(InstaDeployDbContext db, RolloutEntity rollout, IReadOnlyList<RolloutTargetEntity> targets, DateTimeOffset now)
    {
        rollout.LastEventSeq++;
        db.RolloutEvents.Add(new RolloutEventEntity
        {
            RolloutId = rollout.Id, Seq = rollout.LastEventSeq, At = now, Type = "rollout", DataJson = RolloutMapping.RolloutEvent(rollout, targets),
        });
    }

    private static void AddTargetEvent(InstaDeployDbContext db, RolloutEntity rollout, RolloutTargetEntity target, DateTimeOffset now)
    {
        rollout.LastEventSeq++;
        db.RolloutEvents.Add(new RolloutEventEntity
        {
            RolloutId = rollout.Id, Seq = rollout.LastEventSeq, At = now, Type = "target", DataJson = RolloutMapping.TargetEvent(target),
        });
    }
}
