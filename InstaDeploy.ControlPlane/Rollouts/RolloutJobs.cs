using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>What a rollout's job carries to <see cref="RolloutJobs"/>: which target it is for, and whether it deploys the
/// target or restores it; <paramref name="Revision"/> is the deploy's revision, for the deployments' own bookkeeping.</summary>
public sealed record RolloutJobState(string RolloutId, int Ordinal, bool Restore, RevisionEntity? Revision);

/// <summary>The target already has its job: another engine step created it first. Nothing was created.</summary>
public sealed class RolloutStepTakenException(string message) : Exception(message);

/// <summary>
/// Keeps rollout targets in step with their jobs inside the jobs' own transactions: a job's creation claims its target
/// (so a target never gets two deploy jobs, even from two engines or across a crash), and its end records the outcome
/// (so the rollout's rows are never behind its jobs). Each change is also the rollout's next event.
/// </summary>
public sealed class RolloutJobs : IJobLifecycleHook
{
    public bool Tracks(string type, string? projectName) =>
        (projectName is not null && type is CommandTypes.DeployCompose or CommandTypes.StopCompose) || Releases.BundleCommands.IsBundleCommand(type);

    public async Task OnCreatingAsync(InstaDeployDbContext db, JobDraft draft, JobEntity job, CancellationToken cancellationToken)
    {
        if (draft.HookState is not RolloutJobState state) return;
        await RolloutLocks.LockAsync(db, state.RolloutId, cancellationToken);
        var target = await db.RolloutTargets.FindAsync([state.RolloutId, state.Ordinal], cancellationToken)
            ?? throw new RolloutStepTakenException($"rollout {state.RolloutId} has no target {state.Ordinal}");
        if (state.Restore)
        {
            if (target.RollbackJobId is not null || target.State is not (RolloutTargetStates.Succeeded or RolloutTargetStates.Failed))
                throw new RolloutStepTakenException($"target {state.Ordinal} of rollout {state.RolloutId} is already being restored");
            target.RollbackJobId = job.Id;
            target.State = RolloutTargetStates.RollingBack;
        }
        else
        {
            if (target.JobId is not null || target.State != RolloutTargetStates.Waiting)
                throw new RolloutStepTakenException($"target {state.Ordinal} of rollout {state.RolloutId} already has a job");
            var placement = await db.Deployments.AsNoTracking()
                .FirstOrDefaultAsync(d => d.ProjectName == job.ProjectName && d.AgentId == job.AgentId, cancellationToken);
            target.JobId = job.Id;
            target.JobStatus = job.Status;
            target.State = RolloutTargetStates.Deploying;
            target.StartedAt = job.CreatedAt;
            target.PreviousRevision = placement is { State: not DeploymentStates.Stopped } ? placement.CurrentRevision : null;
            target.Revision = state.Revision is { Number: > 0 } revision ? revision.Number : null;
        }
        await AppendAsync(db, target, job.CreatedAt, cancellationToken);
    }

    public async Task OnFinishingAsync(InstaDeployDbContext db, JobEntity job, JobEnding ending, CancellationToken cancellationToken)
    {
        var rolloutId = await db.RolloutTargets.AsNoTracking().Where(t => t.JobId == job.Id || t.RollbackJobId == job.Id).Select(t => t.RolloutId).FirstOrDefaultAsync(cancellationToken);
        if (rolloutId is null) return;
        await RolloutLocks.LockAsync(db, rolloutId, cancellationToken);
        var target = await db.RolloutTargets.FirstOrDefaultAsync(t => t.JobId == job.Id || t.RollbackJobId == job.Id, cancellationToken);
        if (target is null) return;
        var revision = job.Type == CommandTypes.DeployCompose
            ? await db.Revisions.Where(r => r.JobId == job.Id).Select(r => (int?)r.Number).FirstOrDefaultAsync(cancellationToken)
            : null;
        Apply(target, job.Id, job.Status, job.Error, revision, ending.Now);
        await AppendAsync(db, target, ending.Now, cancellationToken);
    }

    /// <summary>A target's state once its job ended: the one rule for the hook and for reconciling after a restart.</summary>
    public static void Apply(RolloutTargetEntity target, string jobId, string status, string error, int? revision, DateTimeOffset now)
    {
        var ok = status == JobStatuses.Completed;
        var why = ok ? "" : status == JobStatuses.Expired ? $"EXPIRED: {error}" : $"{status}: {error}";
        if (target.RollbackJobId == jobId)
        {
            target.State = ok ? RolloutTargetStates.RolledBack : RolloutTargetStates.RollbackFailed;
            target.RollbackRevision = revision;
            if (!ok) target.Error = string.IsNullOrEmpty(target.Error) ? "restore " + why : $"{target.Error}; restore {why}";
        }
        else
        {
            target.State = ok ? RolloutTargetStates.Succeeded : RolloutTargetStates.Failed;
            target.JobStatus = status;
            target.Revision = revision ?? target.Revision;
            target.Error = why;
        }
        target.FinishedAt = now;
    }

    /// <summary>Adds the target's change as the rollout's next event (in the caller's transaction).</summary>
    internal static async Task AppendAsync(InstaDeployDbContext db, RolloutTargetEntity target, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rollout = await db.Rollouts.FindAsync([target.RolloutId], cancellationToken);
        if (rollout is null) return;
        rollout.LastEventSeq++;
        rollout.UpdatedAt = now;
        db.RolloutEvents.Add(new RolloutEventEntity
        {
            RolloutId = rollout.Id, Seq = rollout.LastEventSeq, At = now, Type = "target", DataJson = RolloutMapping.TargetEvent(target),
        });
    }
}
