namespace InstaDeploy.Contracts;

/// <summary>The command types of the seed protocol, spelled exactly as on the wire.</summary>
public static class CommandTypes
{
    /// <summary>Deploy a docker-compose file: payload <c>{project_name, compose_file_base64}</c>.</summary>
    public const string DeployCompose = "DEPLOY_COMPOSE";

    /// <summary>Stop (compose down) a deployed project: payload <c>{project_name}</c>.</summary>
    public const string StopCompose = "STOP_COMPOSE";

    /// <summary>Report a project's containers: payload <c>{project_name}</c>.</summary>
    public const string Status = "STATUS";

    /// <summary>Report the agent's own health: payload <c>{}</c>.</summary>
    public const string HealthCheck = "HEALTH_CHECK";

    /// <summary>
    /// Container logs of a deployed project (an InstaDeploy extension, served by the compose plugin): payload
    /// <c>{project_name, tail?, since?, follow_seconds?, service?, timestamps?}</c>; the lines are the job's output.
    /// </summary>
    public const string Logs = "LOGS";

    /// <summary>
    /// Try a registry login on the agent (an InstaDeploy extension, served by the compose plugin): payload
    /// <c>{host, registry_auths: [{host, username, password}]}</c>; the result says whether the registry accepted it and
    /// what it answered. Nothing is kept on the agent.
    /// </summary>
    public const string RegistryLogin = "REGISTRY_LOGIN";

    /// <summary>
    /// Control plane to agent, only with the reliable-delivery feature: <c>{"id": "&lt;job id&gt;", "type": "ACK"}</c>,
    /// the job's result is persisted and the agent may forget it. Not a job.
    /// </summary>
    public const string Ack = "ACK";
}
