namespace InstaDeploy.ControlPlane.Data;

/// <summary>An agent that has connected at least once. Its id is the hostname it announced.</summary>
public sealed class AgentEntity
{
    public required string Id { get; set; }
    public required string Hostname { get; set; }
    public string Version { get; set; } = "";
    public string Architecture { get; set; } = "";
    public bool Online { get; set; }
    public DateTimeOffset FirstSeen { get; set; }
    public DateTimeOffset LastSeen { get; set; }
    public DateTimeOffset? ConnectedAt { get; set; }

    /// <summary>SHA-256 of the agent's own key, once it enrolled; then only that key authenticates this agent id.</summary>
    public byte[]? KeyHash { get; set; }

    /// <summary>SHA-256 of the key issued to the agent on a shared-token connection (trust on first use), until the agent
    /// says it stored it; then it becomes <see cref="KeyHash"/>.</summary>
    public byte[]? PendingKeyHash { get; set; }

    /// <summary>When an admin revoked the agent; it is refused from then on, until an admin restores it.</summary>
    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>The plugins the agent last reported (JSON array of <c>PluginInfo</c>), or null if it never did (a seed agent).</summary>
    public string? PluginsJson { get; set; }

    /// <summary>The labels the agent announced on its last connect (JSON object), "{}" for none.</summary>
    public string AnnouncedLabelsJson { get; set; } = "{}";

    /// <summary>An admin's label overrides (JSON object; a null value removes an announced label), or null for none.
    /// They win over what the agent announces.</summary>
    public string? LabelOverridesJson { get; set; }
}

/// <summary>One command sent (or to be sent) to one agent, and what came of it.</summary>
public sealed class JobEntity
{
    public required string Id { get; set; }
    public required string Type { get; set; }
    public required string AgentId { get; set; }
    public string? ProjectName { get; set; }
    public required string Status { get; set; }
    public required string PayloadJson { get; set; }
    public string Logs { get; set; } = "";
    public string Error { get; set; } = "";
    public string? ResultJson { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    /// <summary>Deadline for a result once sent: <see cref="SentAt"/> plus <see cref="TimeoutSeconds"/>.</summary>
    public DateTimeOffset TimeoutAt { get; set; }
    public int TimeoutSeconds { get; set; }

    /// <summary>When it was first written to the agent's socket.</summary>
    public DateTimeOffset? SentAt { get; set; }

    /// <summary>A job not yet sent (its agent offline) ends EXPIRED at this time.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>W3C trace context of the request that created the job, so its result joins the same trace.</summary>
    public string? TraceParent { get; set; }

    /// <summary>
    /// What the command carries that must not be stored in clear (a deploy's variables), as a Data Protection payload;
    /// merged into the payload only as the command is written to the agent's socket.
    /// </summary>
    public string? SecretsProtected { get; set; }

    /// <summary>Its final result came from its agent after it had ended TIMED_OUT, and replaced that.</summary>
    public bool ArrivedLate { get; set; }

    /// <summary>Lines of output dropped from the head of <see cref="Logs"/> to keep it within the job-log cap, so line
    /// numbers stay those the job streamed.</summary>
    public int LogLinesDropped { get; set; }
}

/// <summary>
/// Output a job streamed while it runs, appended in batches (never rewritten): lines <see cref="Seq"/> to
/// <see cref="Seq"/> + <see cref="LineCount"/> − 1. When the job ends its output moves into
/// <see cref="JobEntity.Logs"/> and these rows go.
/// </summary>
public sealed class JobOutputChunkEntity
{
    public required string JobId { get; set; }

    /// <summary>The number of the chunk's first line in the job's output (1 is the first line).</summary>
    public long Seq { get; set; }

    /// <summary>How many lines <see cref="Text"/> holds.</summary>
    public int LineCount { get; set; }

    /// <summary>The lines, each ending in a newline.</summary>
    public required string Text { get; set; }
}

/// <summary>A project as placed on one agent: the last deploy or stop job and the state it left.</summary>
public sealed class DeploymentEntity
{
    public required string ProjectName { get; set; }
    public required string AgentId { get; set; }
    public required string State { get; set; }
    public required string LastJobId { get; set; }

    /// <summary>State and job before the current job started; restored if the control plane could not send it.</summary>
    public string? PreviousState { get; set; }
    public string? PreviousJobId { get; set; }

    /// <summary>The revision that runs there now (the last one deployed, the one an automatic rollback restored, or the one
    /// the engine's containers say they run).</summary>
    public int? CurrentRevision { get; set; }

    /// <summary>When a STATUS last compared the placement with what the engine runs.</summary>
    public DateTimeOffset? ObservedAt { get; set; }

    /// <summary>What that STATUS found and why it was asked for, e.g. "after a timeout of job …: current revision 2 -> 3".</summary>
    public string? ObservedNote { get; set; }

    /// <summary>Why the STATUS on its way was asked for; cleared when it comes back.</summary>
    public string? ObservationReason { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// One deploy of a project: what was deployed (the compose file and the variables, the secret ones encrypted), by whom,
/// when, by which job, and what came of it. A rollback deploys an earlier revision's content again as a new revision.
/// </summary>
public sealed class RevisionEntity
{
    public long Id { get; set; }
    public required string ProjectName { get; set; }

    /// <summary>1, 2, 3… per project.</summary>
    public int Number { get; set; }
    public required string AgentId { get; set; }
    public required string JobId { get; set; }

    /// <summary>SHA-256 (hex) of the compose file.</summary>
    public required string ComposeSha256 { get; set; }

    /// <summary>The compose file as deployed (UTF-8 text).</summary>
    public required string ComposeYaml { get; set; }

    /// <summary>The variables deployed with it, as a Data Protection payload (never plain text); null when there were none.</summary>
    public string? VariablesProtected { get; set; }

    /// <summary>Names of the variables deployed with it, comma separated (names are not secret).</summary>
    public string VariableNames { get; set; } = "";

    /// <summary>Name of the API key that asked for it.</summary>
    public required string CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>See <see cref="RevisionOutcomes"/>.</summary>
    public required string Outcome { get; set; }

    /// <summary>For a rollback: the revision whose content it deployed again.</summary>
    public int? RollbackOf { get; set; }

    /// <summary>When this deploy failed and the agent rolled back by itself: the revision it restored.</summary>
    public int? RolledBackTo { get; set; }
}

/// <summary>What came of a revision.</summary>
public static class RevisionOutcomes
{
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";

    /// <summary>It failed and the agent restored the previous successful revision (rollback_on_failure).</summary>
    public const string RolledBack = "rolled_back";

    /// <summary>The agent did not answer before the job's timeout: what runs there is not known.</summary>
    public const string TimedOut = "timed_out";

    /// <summary>The job never reached its agent (offline past the queue expiry): nothing changed there.</summary>
    public const string Expired = "expired";
}

/// <summary>
/// An environment variable of a project, for every agent (<see cref="AgentId"/> empty) or one agent (overriding the
/// project-wide value there). A secret value is stored encrypted with ASP.NET Core Data Protection.
/// </summary>
public sealed class ProjectVariableEntity
{
    public required string ProjectName { get; set; }

    /// <summary>"" for every agent, else the agent it applies to.</summary>
    public required string AgentId { get; set; }
    public required string Name { get; set; }

    /// <summary>The value; for a secret, its Data Protection payload.</summary>
    public required string Value { get; set; }
    public bool Secret { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A short-lived, limited-use token an agent trades once for its own agent key. Stored as SHA-256 only.</summary>
public sealed class EnrollmentTokenEntity
{
    public required string Id { get; set; }
    public required string Name { get; set; }
    public required byte[] Hash { get; set; }
    public int UsesLeft { get; set; }

    /// <summary>The only agent id that may enroll with it; null for any.</summary>
    public string? AgentId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>A key for the REST API. Only the SHA-256 of the key is stored; the key itself is shown once, at creation.</summary>
public sealed class ApiKeyEntity
{
    public required string Id { get; set; }
    public required string Name { get; set; }

    /// <summary>Comma-separated scopes: read, deploy, admin.</summary>
    public required string Scopes { get; set; }
    public required byte[] Hash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>Whether the key's deploys may give containers access to their host. A deploy key without it has the deploy
    /// policy applied to its deploys and rollbacks even when INSTADEPLOY_POLICY is off; admin keys always have it.</summary>
    public bool HostAccess { get; set; }
}

/// <summary>The states a deployment goes through.</summary>
public static class DeploymentStates
{
    public const string Deploying = "deploying";
    public const string Running = "running";
    public const string Failed = "failed";
    public const string Stopping = "stopping";
    public const string Stopped = "stopped";
    public const string StopFailed = "stop_failed";

    /// <summary>The agent never answered before the job's timeout: what runs there is not known.</summary>
    public const string Unknown = "unknown";

    /// <summary>Some of the project's containers run, some do not (seen by a STATUS after an interrupted job).</summary>
    public const string Degraded = "degraded";
}
