namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>
/// A deploy of one project to many agents, in batches, with its strategy resolved to numbers at creation. Its state
/// and its targets' rows are the truth the engine acts on (never memory), so a restart carries on from them.
/// </summary>
public sealed class RolloutEntity
{
    public required string Id { get; set; }
    /// <summary>The project deployed; "" for a rollout of an agent release or a plugin package.</summary>
    public required string ProjectName { get; set; }

    /// <summary>What each target gets: see <see cref="RolloutActions"/>.</summary>
    public string Action { get; set; } = RolloutActions.Deploy;

    /// <summary>For an agent update or a plugin: the bundle's name (InstaDeploy.Agent, or the plugin) and version.</summary>
    public string? BundleName { get; set; }
    public string? BundleVersion { get; set; }

    /// <summary>See <see cref="RolloutStates"/>.</summary>
    public required string State { get; set; }

    /// <summary>Why it is in its state (paused, failed…), in words; "" when there is nothing to say.</summary>
    public string Reason { get; set; } = "";

    /// <summary>Why it is paused: <c>manual</c>, <c>failures</c> or <c>canary</c>; null when not paused.</summary>
    public string? PauseKind { get; set; }

    /// <summary>The compose file every target gets; null for a rollout with rollback_to (each target deploys one of its
    /// own revisions again).</summary>
    public string? ComposeYaml { get; set; }
    public string? ComposeSha256 { get; set; }

    /// <summary>For rollback_to: what was asked (<c>newest_common</c> or a revision number) and what was chosen, in words.</summary>
    public string? RollbackTo { get; set; }
    public string? RollbackChoice { get; set; }

    /// <summary>The selector the targets were chosen by, if any (else they were named).</summary>
    public string? Selector { get; set; }

    public int MaxParallel { get; set; }
    /// <summary>As given (<c>25%</c> or <c>10</c>), for display.</summary>
    public string MaxParallelSpec { get; set; } = "";
    public int CanaryCount { get; set; }
    public bool AutoPromote { get; set; }
    public bool Promoted { get; set; }
    public int BatchWaitSeconds { get; set; }
    public int HealthWaitSeconds { get; set; }
    public int? TimeoutSeconds { get; set; }
    public int? QueueTtlSeconds { get; set; }
    public int MaxFailures { get; set; }
    public string MaxFailuresSpec { get; set; } = "";

    /// <summary>See <see cref="RolloutFailureActions"/>.</summary>
    public required string OnFailure { get; set; }

    /// <summary><c>wait</c> or <c>skip</c>.</summary>
    public required string Offline { get; set; }

    /// <summary>Failures already accepted by a resume: on_failure acts again only after <see cref="MaxFailures"/> more.</summary>
    public int FailuresAccepted { get; set; }

    public required string CreatedBy { get; set; }

    /// <summary>Whether the key that created it has no host access: the deploy policy holds every target's deploy.</summary>
    public bool CreatedByRestricted { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>The number of its last event (events are numbered 1, 2, 3… per rollout).</summary>
    public long LastEventSeq { get; set; }

    /// <summary>The engine instance that may act on it until <see cref="LeaseUntil"/> (claimed by a conditional update).</summary>
    public string? LeaseOwner { get; set; }
    public DateTimeOffset? LeaseUntil { get; set; }
}

/// <summary>One agent of a rollout and what was done there.</summary>
public sealed class RolloutTargetEntity
{
    public required string RolloutId { get; set; }

    /// <summary>0, 1, 2… in the order targets are deployed.</summary>
    public int Ordinal { get; set; }
    public required string AgentId { get; set; }

    /// <summary>0 is the canaries when there are any; batches deploy in order.</summary>
    public int Batch { get; set; }

    /// <summary>See <see cref="RolloutTargetStates"/>.</summary>
    public required string State { get; set; }

    /// <summary>Its deploy job, set in the same transaction that creates the job (so no target gets two).</summary>
    public string? JobId { get; set; }
    public string? JobStatus { get; set; }

    /// <summary>The revision its deploy created.</summary>
    public int? Revision { get; set; }

    /// <summary>The revision the agent ran before this rollout deployed it (what a fleet rollback restores); null when
    /// the project did not run there.</summary>
    public int? PreviousRevision { get; set; }

    /// <summary>For rollback_to: the agent's own revision deployed again.</summary>
    public int? RollbackOf { get; set; }

    /// <summary>The job that put the previous revision back (or stopped the project) after a failure.</summary>
    public string? RollbackJobId { get; set; }
    public int? RollbackRevision { get; set; }

    public string Error { get; set; } = "";
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
}

/// <summary>One change of a rollout or of one of its targets, as <c>GET /rollouts/{id}/events</c> streams it.</summary>
public sealed class RolloutEventEntity
{
    public required string RolloutId { get; set; }
    public long Seq { get; set; }
    public DateTimeOffset At { get; set; }

    /// <summary><c>rollout</c> or <c>target</c>.</summary>
    public required string Type { get; set; }
    public required string DataJson { get; set; }
}

public static class RolloutStates
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Paused = "paused";
    /// <summary>on_failure rollback is putting the previous revisions back.</summary>
    public const string RollingBack = "rolling_back";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string RolledBack = "rolled_back";
    public const string Cancelled = "cancelled";

    /// <summary>The states the engine acts in.</summary>
    public static readonly string[] Active = [Pending, Running, RollingBack];

    /// <summary>The states a rollout can still leave.</summary>
    public static readonly string[] Open = [Pending, Running, Paused, RollingBack];

    public static bool IsOpen(string state) => Open.Contains(state);
}

public static class RolloutTargetStates
{
    /// <summary>Not started yet.</summary>
    public const string Waiting = "waiting";
    /// <summary>Its deploy job exists and has not ended (it may wait for an offline agent).</summary>
    public const string Deploying = "deploying";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    /// <summary>Offline when its turn came, with offline: skip.</summary>
    public const string Skipped = "skipped";
    /// <summary>Never started: the rollout was cancelled or rolled back first.</summary>
    public const string Cancelled = "cancelled";
    public const string RollingBack = "rolling_back";
    public const string RolledBack = "rolled_back";
    public const string RollbackFailed = "rollback_failed";

    public static bool IsDone(string state) => state is not (Waiting or Deploying or RollingBack);
}

/// <summary>What a rollout does on each target.</summary>
public static class RolloutActions
{
    /// <summary>Deploy the rollout's compose file (or a revision again): the default.</summary>
    public const string Deploy = "deploy";
    /// <summary>Update the agent to an agent release (UPDATE_AGENT).</summary>
    public const string AgentUpdate = "agent_update";
    /// <summary>Install a plugin package (INSTALL_PLUGIN).</summary>
    public const string PluginInstall = "plugin_install";
    /// <summary>Remove a plugin (REMOVE_PLUGIN).</summary>
    public const string PluginRemove = "plugin_remove";
}

public static class RolloutFailureActions
{
    public const string Pause = "pause";
    public const string Continue = "continue";
    public const string Rollback = "rollback";
}

public static class RolloutPauseKinds
{
    public const string Manual = "manual";
    public const string Failures = "failures";
    public const string Canary = "canary";
}
