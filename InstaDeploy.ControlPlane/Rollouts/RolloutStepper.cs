using InstaDeploy.ControlPlane.Jobs.Delivery;
using InstaDeploy.ControlPlane.Jobs.Submission;
using static InstaDeploy.ControlPlane.Rollouts.RolloutTargetStates;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>
/// One step of one rollout: reads its rows, decides what follows from them alone (nothing is remembered between
/// steps), and does it: start the next batch, pause, promote, finish, or put the previous revisions back. Every
/// decision is a conditional write, and every target's job claims the target as it is created, so a step repeated
/// (after a crash, or by a second engine) never deploys a target twice.
/// </summary>
public sealed class RolloutStepper(RolloutStore store, RolloutCommands commands, CommandSubmitter submitter, IAgentLinks links, RolloutSignals signals, TimeProvider time, ILogger<RolloutStepper> logger)
{
    /// <summary>Submissions of one batch under way at once: they overlap their reads; their writes queue anyway.</summary>
    private const int SubmitConcurrency = 16;

    /// <summary>Runs one step; false once the rollout is finished (or gone).</summary>
    public async Task<bool> StepAsync(string rolloutId, CancellationToken cancellationToken)
    {
        if (await store.ReadAsync(rolloutId, cancellationToken) is not var (rollout, targets)) return false;
        switch (rollout.State)
        {
            case RolloutStates.Pending or RolloutStates.Running:
                await AdvanceAsync(rollout, targets, cancellationToken);
                return true;
            case RolloutStates.RollingBack:
                await RollBackAsync(rollout, targets, cancellationToken);
                return true;
            case RolloutStates.Paused:
                return true;
            default:
                return false;
        }
    }

    private async Task AdvanceAsync(RolloutEntity rollout, List<RolloutTargetEntity> targets, CancellationToken cancellationToken)
    {
        var failed = targets.Count(t => t.State == Failed);
        if (rollout.OnFailure != RolloutFailureActions.Continue && failed - rollout.FailuresAccepted >= rollout.MaxFailures)
        {
            await OnFailuresAsync(rollout, failed, targets, cancellationToken);
            return;
        }
        var open = targets.Where(t => t.State is Waiting or Deploying).ToList();
        if (open.Count == 0)
        {
            await FinishAsync(rollout, targets, cancellationToken);
            return;
        }

        var batch = open.Min(t => t.Batch);
        var inBatch = targets.Where(t => t.Batch == batch).ToList();
        var waiting = inBatch.Where(t => t.State == Waiting).ToList();
        if (waiting.Count == 0) return; // the batch is deploying: its jobs' ends wake the next step
        var batchStarted = waiting.Count < inBatch.Count;
        if (!batchStarted)
        {
            if (rollout.CanaryCount > 0 && !rollout.Promoted && inBatch[0].Ordinal >= rollout.CanaryCount)
            {
                await CanaryGateAsync(rollout, targets, cancellationToken);
                return;
            }
            // The wait counts from the moment the batch before ended, as stored: a restart does not restart it.
            if (batch > 0 && rollout.BatchWaitSeconds > 0
                && targets.Where(t => t.Batch < batch).Max(t => t.FinishedAt) is { } before
                && before + TimeSpan.FromSeconds(rollout.BatchWaitSeconds) > time.GetUtcNow())
                return; // the engine's tick comes back
        }
        if (rollout.State == RolloutStates.Pending
            && await store.ChangeAsync(rollout.Id, [RolloutStates.Pending], (r, _, now) => { (r.State, r.StartedAt) = (RolloutStates.Running, now); return true; }, cancellationToken) is null)
            return;
        await StartAsync(rollout, waiting, restore: false, cancellationToken);
    }

    private async Task OnFailuresAsync(RolloutEntity rollout, int failed, List<RolloutTargetEntity> targets, CancellationToken cancellationToken)
    {
        var why = $"{failed} of {targets.Count} targets failed (max_failures {rollout.MaxFailuresSpec}); first: "
            + targets.Where(t => t.State == Failed).OrderBy(t => t.FinishedAt).Select(t => $"{t.AgentId}: {t.Error}").First();
        if (rollout.OnFailure == RolloutFailureActions.Pause)
        {
            await store.ChangeAsync(rollout.Id, [RolloutStates.Pending, RolloutStates.Running], (r, _, _) =>
            {
                (r.State, r.PauseKind, r.Reason) = (RolloutStates.Paused, RolloutPauseKinds.Failures, why + ". POST /rollouts/{id}/resume to go on, or cancel.".Replace("{id}", r.Id, StringComparison.Ordinal));
                return true;
            }, cancellationToken);
            return;
        }
        await store.ChangeAsync(rollout.Id, [RolloutStates.Pending, RolloutStates.Running], (r, all, now) =>
        {
            (r.State, r.Reason) = (RolloutStates.RollingBack, why + "; putting the previous revision back on every target deployed");
            foreach (var target in all.Where(t => t.State == Waiting)) (target.State, target.FinishedAt, target.Error) = (Cancelled, now, "not deployed: the rollout rolled back");
            return true;
        }, cancellationToken);
    }

    private async Task CanaryGateAsync(RolloutEntity rollout, List<RolloutTargetEntity> targets, CancellationToken cancellationToken)
    {
        var canaries = targets.Where(t => t.Ordinal < rollout.CanaryCount).ToList();
        var healthy = canaries.Count(t => t.State == Succeeded);
        if (rollout.AutoPromote && healthy == canaries.Count)
        {
            await store.ChangeAsync(rollout.Id, [RolloutStates.Pending, RolloutStates.Running], (r, _, _) =>
            {
                (r.Promoted, r.Reason) = (true, $"promoted automatically: all {healthy} canaries succeeded");
                return true;
            }, cancellationToken);
            return;
        }
        await store.ChangeAsync(rollout.Id, [RolloutStates.Pending, RolloutStates.Running], (r, _, _) =>
        {
            (r.State, r.PauseKind) = (RolloutStates.Paused, RolloutPauseKinds.Canary);
            r.Reason = $"{healthy} of {canaries.Count} canaries succeeded; POST /rollouts/{r.Id}/promote to deploy the other {targets.Count - canaries.Count} targets, or cancel";
            return true;
        }, cancellationToken);
    }

    private async Task FinishAsync(RolloutEntity rollout, List<RolloutTargetEntity> targets, CancellationToken cancellationToken) =>
        await store.ChangeAsync(rollout.Id, [RolloutStates.Pending, RolloutStates.Running], (r, all, now) =>
        {
            var failed = all.Count(t => t.State == Failed);
            var skipped = all.Count(t => t.State == Skipped);
            r.State = failed == 0 ? RolloutStates.Succeeded : RolloutStates.Failed;
            r.Reason = (failed == 0 ? $"{all.Count - skipped} of {all.Count} targets deployed" : $"{failed} of {all.Count} targets failed")
                + (skipped > 0 ? $", {skipped} skipped (offline)" : "");
            (r.FinishedAt, r.PauseKind, r.LeaseOwner) = (now, null, null);
            return true;
        }, cancellationToken);

    private async Task RollBackAsync(RolloutEntity rollout, List<RolloutTargetEntity> targets, CancellationToken cancellationToken)
    {
        if (targets.Any(t => t.State == Deploying)) return; // a deploy under way is restored once it has ended
        var toRestore = targets.Where(t => t.State is Succeeded or Failed && t.JobId is not null && t.JobStatus != Contracts.JobStatuses.Expired && t.RollbackJobId is null).ToList();
        var restoring = targets.Count(t => t.State == RollingBack);
        if (toRestore.Count == 0 && restoring == 0)
        {
            await store.ChangeAsync(rollout.Id, [RolloutStates.RollingBack], (r, all, now) =>
            {
                var broken = all.Where(t => t.State == RollbackFailed).ToList();
                r.State = broken.Count == 0 ? RolloutStates.RolledBack : RolloutStates.Failed;
                r.Reason = broken.Count == 0
                    ? $"{r.Reason}; {all.Count(t => t.State == RolledBack)} target(s) back on their previous revision"
                    : $"{r.Reason}; the restore failed on {string.Join(", ", broken.Take(10).Select(t => t.AgentId))}";
                (r.FinishedAt, r.LeaseOwner) = (now, null);
                return true;
            }, cancellationToken);
            return;
        }
        var slots = rollout.MaxParallel - restoring;
        if (slots > 0) await StartAsync(rollout, toRestore.Take(slots).ToList(), restore: true, cancellationToken);
    }

    /// <summary>Submits the targets' jobs through the one submission path; a target that gets none is settled here.</summary>
    private async Task StartAsync(RolloutEntity rollout, List<RolloutTargetEntity> targets, bool restore, CancellationToken cancellationToken)
    {
        var settled = new System.Collections.Concurrent.ConcurrentBag<(int, string, string)>();
        await Parallel.ForEachAsync(targets, new ParallelOptions { MaxDegreeOfParallelism = SubmitConcurrency, CancellationToken = cancellationToken }, async (target, token) =>
        {
            if (!restore && rollout.Offline == "skip" && !links.TryGet(target.AgentId, out _))
            {
                settled.Add((target.Ordinal, Skipped, "offline when its turn came (offline: skip)"));
                return;
            }
            try
            {
                var submission = await submitter.SubmitAsync(restore ? commands.Restore(rollout, target) : commands.Deploy(rollout, target), token);
                if (submission.Refusal is not { } refusal)
                {
                    // The target's "deploying" event was stored with its job (the job's own transaction), now committed.
                    signals.Notify(rollout.Id);
                    return;
                }
                if (restore)
                {
                    logger.RestoreRefused(rollout.Id, target.AgentId, refusal.Detail);
                    settled.Add((target.Ordinal, RollbackFailed, $"restore not sent: {refusal.Title}: {refusal.Detail}"));
                    return;
                }
                var offline = rollout.Offline == "skip" && refusal.Kind == RefusalKind.Conflict && !links.TryGet(target.AgentId, out _);
                settled.Add((target.Ordinal, offline ? Skipped : Failed, offline ? "offline when its turn came (offline: skip)" : $"not sent: {refusal.Title}: {refusal.Detail}"));
            }
            catch (RolloutStepTakenException)
            {
                // Another step created this target's job first: nothing to do.
            }
        });
        await store.FinishWithoutJobAsync(rollout.Id, [.. settled], restore, cancellationToken);
    }
}
