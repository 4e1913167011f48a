using System.Text.Json;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>Deploy a project to many agents.</summary>
/// <param name="ProjectName">The project.</param>
/// <param name="ComposeFileBase64">The docker-compose.yml, base64 encoded; leave it out with rollback_to.</param>
/// <param name="Targets">The agents: a selector (role=web,region in (eu,us)) or a list of agent ids.</param>
/// <param name="Strategy">How the targets are deployed; every field has a default.</param>
/// <param name="RollbackTo">Instead of a compose file: "newest_common" (the newest compose file that succeeded on every target) or a revision number (that revision's compose file, which must have succeeded on every target). Each target deploys its own revision of it again, with that revision's variables.</param>
/// <param name="TimeoutSeconds">Each target's job timeout once sent (default INSTADEPLOY_JOB_TIMEOUT_SECONDS).</param>
/// <param name="QueueTtlSeconds">With offline: wait, how long a target's job waits for its agent before it ends EXPIRED (default INSTADEPLOY_QUEUE_TTL_SECONDS).</param>
public sealed record RolloutRequest(string? ProjectName, string? ComposeFileBase64, RolloutTargetsRequest? Targets, RolloutStrategyRequest? Strategy = null,
    JsonElement? RollbackTo = null, int? TimeoutSeconds = null, int? QueueTtlSeconds = null);

/// <summary>A rollout's targets: exactly one of the two.</summary>
/// <param name="Selector">A label selector, Kubernetes-style; the agents it matches now, in agent id order.</param>
/// <param name="AgentIds">Agent ids, deployed in the order given.</param>
public sealed record RolloutTargetsRequest(string? Selector = null, string[]? AgentIds = null);

/// <summary>How a rollout deploys its targets.</summary>
/// <param name="MaxParallel">Targets deployed at once, as a count (10) or a percentage of the targets ("25%"); default 1. The targets go in batches of this size; a batch starts once the one before has ended.</param>
/// <param name="Canary">Targets deployed first, as a count or {"count": 2, "auto_promote": true}; the rest waits for POST /rollouts/{id}/promote, or goes on by itself with auto_promote once every canary succeeded. Default 0.</param>
/// <param name="BatchWaitSeconds">Seconds between one batch ending and the next starting; default 0.</param>
/// <param name="HealthWaitSeconds">Each target's health wait, as for POST /deploy (default 60, 0 skips the check).</param>
/// <param name="MaxFailures">Failed targets, as a count or a percentage, after which on_failure acts; default 1.</param>
/// <param name="OnFailure">pause (default), continue, or rollback (every target already deployed gets the revision it ran before).</param>
/// <param name="Offline">wait (default: an offline target's job waits for its agent, until queue_ttl_seconds) or skip.</param>
public sealed record RolloutStrategyRequest(JsonElement? MaxParallel = null, JsonElement? Canary = null, int? BatchWaitSeconds = null, int? HealthWaitSeconds = null,
    JsonElement? MaxFailures = null, string? OnFailure = null, string? Offline = null);

