namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>Deploy a docker-compose file to an agent.</summary>
/// <param name="ProjectName">1-64 letters, digits, '_' or '-'; the folder and compose project on the agent.</param>
/// <param name="ComposeFileBase64">The docker-compose.yml, base64 encoded.</param>
/// <param name="AgentId">The agent to deploy to; may be left out when exactly one agent is online.</param>
/// <param name="TimeoutSeconds">How long the deploy may take once sent before it ends TIMED_OUT (default INSTADEPLOY_JOB_TIMEOUT_SECONDS).</param>
/// <param name="QueueTtlSeconds">If the agent is offline, how long the job waits for it before it ends EXPIRED (default INSTADEPLOY_QUEUE_TTL_SECONDS).</param>
/// <param name="FailFast">If the agent is offline, answer 409 instead of queueing.</param>
public sealed record DeployRequest(string? ProjectName, string? ComposeFileBase64, string? AgentId = null, int? TimeoutSeconds = null, int? QueueTtlSeconds = null, bool FailFast = false);

/// <summary>Stop a project, or ask for its status, on an agent.</summary>
/// <param name="ProjectName">The project.</param>
/// <param name="AgentId">The agent; may be left out when the project is deployed on exactly one agent, or exactly one agent is online.</param>
/// <param name="TimeoutSeconds">How long the command may take once sent before it ends TIMED_OUT.</param>
/// <param name="QueueTtlSeconds">If the agent is offline, how long the job waits for it before it ends EXPIRED.</param>
/// <param name="FailFast">If the agent is offline, answer 409 instead of queueing.</param>
public sealed record ProjectRequest(string? ProjectName, string? AgentId = null, int? TimeoutSeconds = null, int? QueueTtlSeconds = null, bool FailFast = false);

/// <summary>A project as placed on one agent.</summary>
/// <param name="ProjectName">The project.</param>
/// <param name="AgentId">The agent it is placed on.</param>
/// <param name="State">deploying, running, failed, stopping, stopped or stop_failed.</param>
/// <param name="LastJobId">The last deploy or stop job.</param>
/// <param name="CreatedAt">When it was first deployed there.</param>
/// <param name="UpdatedAt">When its state last changed.</param>
public sealed record DeploymentDto(string ProjectName, string AgentId, string State, string LastJobId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A project and every agent it is placed on.</summary>
/// <param name="ProjectName">The project.</param>
/// <param name="Placements">One entry per agent.</param>
public sealed record ProjectDeploymentsDto(string ProjectName, DeploymentDto[] Placements);
