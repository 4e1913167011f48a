namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>Deploy a docker-compose file to an agent.</summary>
/// <param name="ProjectName">1-64 letters, digits, '_' or '-'; the folder and compose project on the agent.</param>
/// <param name="ComposeFileBase64">The docker-compose.yml, base64 encoded.</param>
/// <param name="AgentId">The agent to deploy to; may be left out when the project is deployed on exactly one agent (a redeploy), or exactly one agent is online.</param>
/// <param name="TimeoutSeconds">How long the deploy may take once sent before it ends TIMED_OUT (default INSTADEPLOY_JOB_TIMEOUT_SECONDS).</param>
/// <param name="QueueTtlSeconds">If the agent is offline, how long the job waits for it before it ends EXPIRED (default INSTADEPLOY_QUEUE_TTL_SECONDS).</param>
/// <param name="FailFast">If the agent is offline, answer 409 instead of queueing.</param>
/// <param name="HealthWaitSeconds">How long the agent waits after `up -d` for every container to be running (and healthy, where it has a healthcheck); the deploy fails if they are not. 0 skips the check; default 60.</param>
/// <param name="RollbackOnFailure">If the deploy fails (compose error, or containers not running/healthy in time), the agent deploys the project's last successful revision again, and the job's log says so.</param>
/// <param name="Pull">Pull the images before `up` (a new image pushed behind the same tag is then used).</param>
public sealed record DeployRequest(string? ProjectName, string? ComposeFileBase64, string? AgentId = null, int? TimeoutSeconds = null, int? QueueTtlSeconds = null, bool FailFast = false,
    int? HealthWaitSeconds = null, bool RollbackOnFailure = false, bool Pull = false);

/// <summary>Deploy an earlier revision of a project again.</summary>
/// <param name="Revision">The revision to go back to; default: the last successful revision before the one deployed now.</param>
/// <param name="AgentId">The agent; may be left out when the project is deployed on exactly one agent.</param>
/// <param name="TimeoutSeconds">How long the deploy may take once sent before it ends TIMED_OUT.</param>
/// <param name="QueueTtlSeconds">If the agent is offline, how long the job waits for it before it ends EXPIRED.</param>
/// <param name="FailFast">If the agent is offline, answer 409 instead of queueing.</param>
/// <param name="HealthWaitSeconds">As for a deploy: how long to wait for the containers to be running and healthy (default 60, 0 skips).</param>
public sealed record RollbackRequest(int? Revision = null, string? AgentId = null, int? TimeoutSeconds = null, int? QueueTtlSeconds = null, bool FailFast = false, int? HealthWaitSeconds = null);

/// <summary>One deploy of a project.</summary>
/// <param name="Revision">Its number, 1, 2, 3… per project.</param>
/// <param name="ProjectName">The project.</param>
/// <param name="AgentId">The agent it was deployed to.</param>
/// <param name="JobId">The deploy job.</param>
/// <param name="ComposeSha256">SHA-256 of the compose file.</param>
/// <param name="Variables">Names of the variables deployed with it (values are never shown).</param>
/// <param name="CreatedBy">The API key that asked for it.</param>
/// <param name="CreatedAt">When it was asked for.</param>
/// <param name="FinishedAt">When its job ended.</param>
/// <param name="Outcome">pending, succeeded, failed, rolled_back (failed, and the agent restored rolled_back_to), timed_out or expired.</param>
/// <param name="RollbackOf">For a rollback: the revision whose content it deployed again.</param>
/// <param name="RolledBackTo">When it failed and was rolled back: the revision restored.</param>
/// <param name="Current">Whether it is what runs on its agent now.</param>
/// <param name="ComposeFileBase64">The compose file (only when one revision is asked for).</param>
public sealed record RevisionDto(int Revision, string ProjectName, string AgentId, string JobId, string ComposeSha256, string[] Variables,
    string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt, string Outcome, int? RollbackOf, int? RolledBackTo, bool Current,
    string? ComposeFileBase64 = null);

/// <summary>Stop a project, or ask for its status, on an agent.</summary>
/// <param name="ProjectName">The project.</param>
/// <param name="AgentId">The agent; may be left out when the project is deployed on exactly one agent, or exactly one agent is online.</param>
/// <param name="TimeoutSeconds">How long the command may take once sent before it ends TIMED_OUT.</param>
/// <param name="QueueTtlSeconds">If the agent is offline, how long the job waits for it before it ends EXPIRED.</param>
/// <param name="FailFast">If the agent is offline, answer 409 instead of queueing.</param>
/// <param name="Selector">Instead of agent_id: a label selector; the command goes to every selected agent the project is placed on.</param>
public sealed record ProjectRequest(string? ProjectName, string? AgentId = null, int? TimeoutSeconds = null, int? QueueTtlSeconds = null, bool FailFast = false,
    string? Selector = null);

/// <summary>A project as placed on one agent.</summary>
/// <param name="ProjectName">The project.</param>
/// <param name="AgentId">The agent it is placed on.</param>
/// <param name="State">deploying, running, failed, stopping, stopped or stop_failed.</param>
/// <param name="LastJobId">The last deploy or stop job.</param>
/// <param name="CreatedAt">When it was first deployed there.</param>
/// <param name="UpdatedAt">When its state last changed.</param>
/// <param name="CurrentRevision">The revision running there (see GET /deployments/{project_name}/revisions), if known.</param>
/// <param name="ObservedAt">When a STATUS last compared it with what the engine runs.</param>
/// <param name="Observed">What that STATUS found, and why it was asked for.</param>
public sealed record DeploymentDto(string ProjectName, string AgentId, string State, string LastJobId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int? CurrentRevision,
    DateTimeOffset? ObservedAt = null, string? Observed = null);

/// <summary>A project and every agent it is placed on.</summary>
/// <param name="ProjectName">The project.</param>
/// <param name="Placements">One entry per agent.</param>
public sealed record ProjectDeploymentsDto(string ProjectName, DeploymentDto[] Placements);
