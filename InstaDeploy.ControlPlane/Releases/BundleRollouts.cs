using InstaDeploy.Contracts.Bundles;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Deployments;
using InstaDeploy.ControlPlane.Jobs.Submission;
using InstaDeploy.ControlPlane.Rollouts;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Releases;

/// <summary>Roll a bundle out (or a plugin off) to many agents.</summary>
/// <param name="Targets">A selector or agent ids, as for POST /rollouts.</param>
/// <param name="Strategy">max_parallel, canary, batch_wait_seconds, max_failures, on_failure (pause or continue), offline, as for POST /rollouts.</param>
/// <param name="TimeoutSeconds">Each target's job timeout once sent (for an update: download, restart and confirmation together).</param>
/// <param name="QueueTtlSeconds">With offline: wait, how long a target's job waits for its agent.</param>
public sealed record BundleRolloutRequest(RolloutTargetsRequest? Targets, RolloutStrategyRequest? Strategy = null, int? TimeoutSeconds = null, int? QueueTtlSeconds = null);

/// <summary>
/// Rollouts of agent releases and plugin packages: the rollout engine's own batches, canaries, failure threshold and
/// pause, with an agent update (or a plugin change) as each target's job instead of a deploy. One such rollout is open
/// at a time.
/// </summary>
public sealed class BundleRollouts(IDbContextFactory<InstaDeployDbContext> databases, RolloutStore store, RolloutEngine engine, TimeProvider time)
{
    public async Task<(RolloutDto? Rollout, CommandRefusal? Refusal)> StartAsync(string action, string name, string? version, BundleRolloutRequest request, Deployer createdBy,
        Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        if (CommandSubmitter.ValidateTimeout(request.TimeoutSeconds) is { } badTimeout) return (null, badTimeout);
        if (CommandSubmitter.ValidateQueueTtl(request.QueueTtlSeconds) is { } badTtl) return (null, badTtl);
        if (request.Strategy?.OnFailure == RolloutFailureActions.Rollback)
            return (null, CommandRefusal.Invalid("strategy.on_failure", action == RolloutActions.AgentUpdate
                ? "is pause or continue here: an agent whose update fails goes back to its previous version by itself (its launcher), so there is nothing to roll back"
                : "is pause or continue for plugin rollouts"));
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        if (action != RolloutActions.PluginRemove)
        {
            var kind = action == RolloutActions.AgentUpdate ? BundleManifest.KindAgent : BundleManifest.KindPlugin;
            if (!await db.Bundles.AsNoTracking().AnyAsync(b => b.Kind == kind && b.Name == name && b.Version == version, cancellationToken))
                return (null, CommandRefusal.NotFound(kind == BundleManifest.KindAgent ? "Unknown agent release" : "Unknown plugin package",
                    $"No {(kind == BundleManifest.KindAgent ? "agent release" : $"plugin package {name}")} {version} was uploaded."));
        }
        else if (!BundleManifest.IsValidName(name)) return (null, CommandRefusal.Invalid("name", "is not a plugin name (letters, digits, '.', '_', '-')"));

        var (agentIds, targetsProblem) = await RolloutPlanner.ResolveTargetsAsync(db, request.Targets, cancellationToken);
        if (targetsProblem is not null) return (null, targetsProblem);
        var (strategy, strategyProblem) = RolloutStrategy.Resolve(request.Strategy, agentIds!.Count);
        if (strategyProblem is not null) return (null, strategyProblem);
        var open = await db.Rollouts.AsNoTracking().Where(r => r.ProjectName == "" && RolloutStates.Open.Contains(r.State)).Select(r => r.Id).FirstOrDefaultAsync(cancellationToken);
        if (open is not null)
            return (null, CommandRefusal.Conflict("An agent or plugin rollout is under way",
                $"Rollout {open} has not finished; cancel it (POST /rollouts/{open}/cancel) or wait for it (GET /rollouts/{open})."));

        var now = time.GetUtcNow();
        var rollout = new RolloutEntity
        {
            Id = "ro-" + Guid.CreateVersion7(now).ToString("N"),
            ProjectName = "",
            Action = action,
            BundleName = name,
            BundleVersion = version,
            State = RolloutStates.Pending,
            Selector = request.Targets!.Selector,
            MaxParallel = strategy!.MaxParallel,
            MaxParallelSpec = strategy.MaxParallelSpec,
            CanaryCount = strategy.Canary,
            AutoPromote = strategy.AutoPromote,
            BatchWaitSeconds = strategy.BatchWaitSeconds,
            TimeoutSeconds = request.TimeoutSeconds,
            QueueTtlSeconds = request.QueueTtlSeconds,
            MaxFailures = strategy.MaxFailures,
            MaxFailuresSpec = strategy.MaxFailuresSpec,
            OnFailure = strategy.OnFailure,
            Offline = strategy.Offline,
            CreatedBy = createdBy.Name,
            CreatedByRestricted = createdBy.Restricted,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var targets = agentIds.Select((agent, i) => new RolloutTargetEntity
        {
            RolloutId = rollout.Id, Ordinal = i, AgentId = agent, Batch = RolloutPlanner.BatchOf(i, strategy), State = RolloutTargetStates.Waiting,
        }).ToList();
        await store.CreateAsync(rollout, targets, actor, cancellationToken);
        engine.Wake(rollout.Id, rollout.ProjectName);
        return (rollout.ToDto(targets, withTargets: true), null);
    }
}
