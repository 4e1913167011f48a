using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Agents;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Deployments;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>Turns a <c>POST /rollouts</c> request into a rollout and its targets, or the problem to answer; nothing is
/// stored here.</summary>
public sealed class RolloutPlanner(IDbContextFactory<InstaDeployDbContext> databases, DeployService deploys, TimeProvider time)
{
    /// <summary>Most targets one rollout may have.</summary>
    public const int MaxTargets = 10_000;

    public sealed record Plan(RolloutEntity Rollout, List<RolloutTargetEntity> Targets);

    public async Task<(Plan? Plan, CommandRefusal? Problem)> PlanAsync(RolloutRequest request, Deployer createdBy, CancellationToken cancellationToken)
    {
        if (DeployService.ValidateProject(request.ProjectName) is { } invalidName) return (null, invalidName);
        var project = request.ProjectName!;
        var rollbackTo = request.RollbackTo is { ValueKind: not System.Text.Json.JsonValueKind.Null } given ? given : (System.Text.Json.JsonElement?)null;
        if (rollbackTo is not null && !string.IsNullOrEmpty(request.ComposeFileBase64))
            return (null, CommandRefusal.Invalid("rollback_to", "and compose_file_base64 exclude each other: give the file to deploy, or what to roll back to"));
        string? yaml = null;
        if (rollbackTo is null)
        {
            var (read, unreadable) = deploys.ReadComposeFile(request.ComposeFileBase64);
            if (unreadable is not null) return (null, unreadable);
            yaml = read;
        }
        if (CommandSubmitter.ValidateTimeout(request.TimeoutSeconds) is { } badTimeout) return (null, badTimeout);
        if (CommandSubmitter.ValidateQueueTtl(request.QueueTtlSeconds) is { } badTtl) return (null, badTtl);
        var healthWait = request.Strategy?.HealthWaitSeconds;
        if (DeployService.ValidateHealthWait(healthWait) is { } invalidWait) return (null, invalidWait);
        if (deploys.ValidateTimeLeftForHealthWait(request.TimeoutSeconds, healthWait, rollbackOnFailure: false) is { } tooShort) return (null, tooShort);

        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var (agentIds, targetsProblem) = await ResolveTargetsAsync(db, request.Targets, cancellationToken);
        if (targetsProblem is not null) return (null, targetsProblem);
        var (strategy, strategyProblem) = RolloutStrategy.Resolve(request.Strategy, agentIds!.Count);
        if (strategyProblem is not null) return (null, strategyProblem);

        var open = await db.Rollouts.AsNoTracking().Where(r => r.ProjectName == project && RolloutStates.Open.Contains(r.State)).Select(r => r.Id).FirstOrDefaultAsync(cancellationToken);
        if (open is not null)
            return (null, CommandRefusal.Conflict("A rollout of this project is under way",
                $"Rollout {open} of '{project}' has not finished; cancel it (POST /rollouts/{open}/cancel) or wait for it (GET /rollouts/{open})."));

        RollbackToChooser.Choice? choice = null;
        if (rollbackTo is { } to)
        {
            (choice, var refusal) = await RollbackToChooser.ChooseAsync(db, project, agentIds, to, cancellationToken);
            if (refusal is not null) return (null, refusal);
        }

        var now = time.GetUtcNow();
        var rollout = new RolloutEntity
        {
            Id = "ro-" + Guid.CreateVersion7(now).ToString("N"),
            ProjectName = project,
            State = RolloutStates.Pending,
            ComposeYaml = yaml,
            ComposeSha256 = yaml is null ? null : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(yaml))),
            RollbackTo = choice?.Spec,
            RollbackChoice = choice?.Description,
            Selector = request.Targets!.Selector,
            MaxParallel = strategy!.MaxParallel,
            MaxParallelSpec = strategy.MaxParallelSpec,
            CanaryCount = strategy.Canary,
            AutoPromote = strategy.AutoPromote,
            BatchWaitSeconds = strategy.BatchWaitSeconds,
            HealthWaitSeconds = deploys.EffectiveHealthWait(healthWait, request.TimeoutSeconds, rollbackOnFailure: false),
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
            RolloutId = rollout.Id,
            Ordinal = i,
            AgentId = agent,
            Batch = BatchOf(i, strategy),
            State = RolloutTargetStates.Waiting,
            RollbackOf = choice?.RevisionByAgent[agent],
        }).ToList();
        return (new Plan(rollout, targets), null);
    }

    /// <summary>The batch of the target at <paramref name="ordinal"/>: canaries go max_parallel at a time too; the others
    /// start in the batch after the last canary batch.</summary>
    internal static int BatchOf(int ordinal, RolloutStrategy.Resolved strategy) => ordinal < strategy.Canary
        ? ordinal / strategy.MaxParallel
        : (strategy.Canary + strategy.MaxParallel - 1) / strategy.MaxParallel + (ordinal - strategy.Canary) / strategy.MaxParallel;

    internal static async Task<(List<string>? AgentIds, CommandRefusal? Problem)> ResolveTargetsAsync(InstaDeployDbContext db, RolloutTargetsRequest? targets, CancellationToken cancellationToken)
    {
        if (targets is null || (targets.Selector is null) == (targets.AgentIds is null))
            return (null, CommandRefusal.Invalid("targets", "is required, with exactly one of selector (\"role=web,region in (eu,us)\") or agent_ids ([\"vps-1\", \"vps-2\"])"));
        if (targets.Selector is { } text)
        {
            var (selector, error) = LabelSelector.Parse(text);
            if (error is not null) return (null, CommandRefusal.Invalid("targets.selector", error));
            var agents = await db.Agents.AsNoTracking().OrderBy(a => a.Id)
                .Select(a => new { a.Id, a.AnnouncedLabelsJson, a.LabelOverridesJson }).ToListAsync(cancellationToken);
            var matched = agents.Where(a => selector!.Matches(AgentLabelSet.Effective(a.AnnouncedLabelsJson, a.LabelOverridesJson))).Select(a => a.Id).ToList();
            if (matched.Count == 0)
                return (null, CommandRefusal.BadRequest("No targets", $"The selector '{AgentLabels.Shown(text)}' matches none of the {agents.Count} known agents. GET /agents?selector=… shows what it matches."));
            if (matched.Count > MaxTargets)
                return (null, CommandRefusal.BadRequest("Too many targets", $"The selector matches {matched.Count} agents; one rollout takes at most {MaxTargets}. Narrow the selector."));
            return (matched, null);
        }

        var ids = targets.AgentIds!;
        if (ids.Length == 0) return (null, CommandRefusal.Invalid("targets.agent_ids", "is empty; name at least one agent"));
        if (ids.Length > MaxTargets) return (null, CommandRefusal.Invalid("targets.agent_ids", $"has {ids.Length} agents; one rollout takes at most {MaxTargets}"));
        if (ids.FirstOrDefault(id => !AgentIds.IsValid(id)) is { } bad)
            return (null, CommandRefusal.Invalid("targets.agent_ids", $"'{AgentLabels.Shown(bad ?? "")}' is not a valid agent id ({AgentIds.Pattern})"));
        if (ids.GroupBy(id => id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            return (null, CommandRefusal.Invalid("targets.agent_ids", $"names '{twice.Key}' twice"));
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in ids.Chunk(500))
            known.UnionWith(await db.Agents.AsNoTracking().Where(a => chunk.Contains(a.Id)).Select(a => a.Id).ToListAsync(cancellationToken));
        var unknown = ids.Where(id => !known.Contains(id)).ToList();
        if (unknown.Count > 0)
            return (null, CommandRefusal.NotFound("Unknown agent", $"No agent {string.Join(", ", unknown.Take(10).Select(u => $"'{u}'"))}{(unknown.Count > 10 ? $" and {unknown.Count - 10} more" : "")} has ever connected. GET /agents lists the known agents."));
        return ([.. ids], null);
    }
}
