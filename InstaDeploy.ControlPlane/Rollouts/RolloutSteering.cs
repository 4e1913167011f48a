using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Deployments;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>
/// Starting, reading and steering rollouts (pause, resume, promote, cancel), one way for the REST API and the console.
/// Each change is conditional on the state it leaves (<see cref="RolloutStore.ChangeAsync"/>) and wakes the engine.
/// </summary>
public sealed class RolloutSteering(
    RolloutPlanner planner, RolloutStore store, RolloutEngine engine, IDbContextFactory<InstaDeployDbContext> databases, ILoggerFactory loggers)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;
    public const string CursorList = "rollouts";

    public static string CursorAfter(RolloutDto r) => Infrastructure.PageCursor.Encode(CursorList, Infrastructure.PageCursor.Key(r.CreatedAt), r.RolloutId);

    /// <summary>Plans and stores a rollout, then wakes the engine; or why it cannot start.</summary>
    public async Task<(RolloutDto? Rollout, CommandRefusal? Refusal)> StartAsync(RolloutRequest request, Deployer deployer, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        var (plan, problem) = await planner.PlanAsync(request, deployer, cancellationToken);
        if (problem is not null) return (null, problem);
        await store.CreateAsync(plan!.Rollout, plan.Targets, actor, cancellationToken);
        loggers.CreateLogger("InstaDeploy.ControlPlane.Rollouts").RolloutCreated(plan.Rollout.Id, plan.Rollout.ProjectName, plan.Targets.Count, plan.Rollout.MaxParallel);
        engine.Wake(plan.Rollout.Id, plan.Rollout.ProjectName);
        return (plan.Rollout.ToDto(plan.Targets, withTargets: true), null);
    }

    /// <summary>Rollouts newest first, of one project or in one state when given, without their target rows.</summary>
    public async Task<(RolloutDto[]? Rollouts, CommandRefusal? Refusal)> ListAsync(string? projectName, string? state, int? limit, CancellationToken cancellationToken, string? cursor = null)
    {
        var (take, after, refusal) = Infrastructure.PageCursor.Read(CursorList, 2, limit, cursor, DefaultLimit, MaxLimit);
        if (refusal is not null) return (null, refusal);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Rollouts.AsNoTracking();
        if (projectName is not null) query = query.Where(r => r.ProjectName == projectName);
        if (state is not null) query = query.Where(r => r.State == state);
        if (after is not null)
        {
            var (afterAt, afterId) = (Infrastructure.PageCursor.Time(after[0]), after[1]);
#pragma warning disable CA1309 // EF Core translates this overload to the database's comparison; the ordinal one has no translation
            query = query.Where(r => r.CreatedAt < afterAt || (r.CreatedAt == afterAt && string.Compare(r.Id, afterId) < 0));
#pragma warning restore CA1309
        }
        // (CreatedAt, Id) newest first, through the index of the filter given: (ProjectName, State, CreatedAt, Id),
        // (State, CreatedAt, Id) or (CreatedAt, Id).
        var rollouts = await query.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id).Take(take).ToListAsync(cancellationToken);
        var ids = rollouts.Select(r => r.Id).ToList();
        var targets = (await db.RolloutTargets.AsNoTracking().Where(t => ids.Contains(t.RolloutId)).ToListAsync(cancellationToken)).ToLookup(t => t.RolloutId);
        return ([.. rollouts.Select(r => r.ToDto([.. targets[r.Id]], withTargets: false))], null);
    }

    /// <summary>A rollout with a row per target, or null if unknown.</summary>
    public async Task<RolloutDto?> GetAsync(string rolloutId, CancellationToken cancellationToken) =>
        await store.ReadAsync(rolloutId, cancellationToken) is var (rollout, targets) ? rollout.ToDto(targets, withTargets: true) : null;

    public Task<(RolloutDto? Rollout, CommandRefusal? Refusal)> PauseAsync(string rolloutId, Audit.AuditActor actor, CancellationToken cancellationToken) =>
        SteerAsync(rolloutId, "pause", actor, [RolloutStates.Pending, RolloutStates.Running], (r, _, _) =>
        {
            (r.State, r.PauseKind, r.Reason) = (RolloutStates.Paused, RolloutPauseKinds.Manual, $"paused by {actor.Name}");
            return null;
        }, cancellationToken);

    public Task<(RolloutDto? Rollout, CommandRefusal? Refusal)> ResumeAsync(string rolloutId, Audit.AuditActor actor, CancellationToken cancellationToken) =>
        SteerAsync(rolloutId, "resume", actor, [RolloutStates.Paused], (r, targets, now) =>
        {
            if (r.PauseKind == RolloutPauseKinds.Canary) return $"it waits for the promotion of its canaries: POST /rollouts/{r.Id}/promote";
            if (r.PauseKind == RolloutPauseKinds.Failures) r.FailuresAccepted = targets.Count(t => t.State == RolloutTargetStates.Failed);
            (r.State, r.PauseKind, r.Reason) = (RolloutStates.Running, null, $"resumed by {actor.Name}");
            return null;
        }, cancellationToken);

    public Task<(RolloutDto? Rollout, CommandRefusal? Refusal)> PromoteAsync(string rolloutId, Audit.AuditActor actor, CancellationToken cancellationToken) =>
        SteerAsync(rolloutId, "promote", actor, [RolloutStates.Pending, RolloutStates.Running, RolloutStates.Paused], (r, _, _) =>
        {
            if (r.CanaryCount == 0) return "it has no canaries";
            if (r.Promoted) return "its canaries were promoted already";
            r.Promoted = true;
            r.Reason = $"promoted by {actor.Name}";
            if (r.PauseKind == RolloutPauseKinds.Canary) (r.State, r.PauseKind) = (RolloutStates.Running, null);
            return null;
        }, cancellationToken);

    public Task<(RolloutDto? Rollout, CommandRefusal? Refusal)> CancelAsync(string rolloutId, Audit.AuditActor actor, CancellationToken cancellationToken) =>
        SteerAsync(rolloutId, "cancel", actor, RolloutStates.Open, (r, targets, now) =>
        {
            foreach (var target in targets.Where(t => t.State == RolloutTargetStates.Waiting))
                (target.State, target.FinishedAt, target.Error) = (RolloutTargetStates.Cancelled, now, "not deployed: the rollout was cancelled");
            var running = targets.Count(t => t.State is RolloutTargetStates.Deploying or RolloutTargetStates.RollingBack);
            (r.State, r.PauseKind, r.LeaseOwner) = (RolloutStates.Cancelled, null, null);
            r.Reason = $"cancelled by {actor.Name}" + (running > 0 ? $"; {running} job(s) under way finish on their own and are recorded" : "");
            return null;
        }, cancellationToken);

    /// <summary>Applies a steering change if the rollout is in one of <paramref name="from"/>; <paramref name="change"/>
    /// returns why it cannot apply, or null once applied.</summary>
    private async Task<(RolloutDto? Rollout, CommandRefusal? Refusal)> SteerAsync(string rolloutId, string verb, Audit.AuditActor actor, string[] from,
        Func<RolloutEntity, List<RolloutTargetEntity>, DateTimeOffset, string?> change, CancellationToken cancellationToken)
    {
        string? refused = null;
        var changed = await store.ChangeAsync(rolloutId, from, (r, targets, now) =>
        {
            refused = change(r, targets, now);
            if (refused is null && !RolloutStates.IsOpen(r.State)) r.FinishedAt = now;
            return refused is null;
        }, cancellationToken, (actor, Audit.AuditActions.RolloutSteer + verb));
        if (await store.ReadAsync(rolloutId, cancellationToken) is not var (rollout, all)) return (null, Unknown(rolloutId));
        if (changed is null || refused is not null)
            return (null, CommandRefusal.Conflict($"Cannot {verb} the rollout", $"Rollout {rolloutId} is {rollout.State}{(refused is null ? "" : "; " + refused)}."));
        engine.Wake(rollout.Id, rollout.ProjectName);
        return (rollout.ToDto(all, withTargets: true), null);
    }

    public static CommandRefusal Unknown(string rolloutId) => CommandRefusal.NotFound("Unknown rollout", $"No rollout '{rolloutId}'. GET /rollouts lists them.");
}
