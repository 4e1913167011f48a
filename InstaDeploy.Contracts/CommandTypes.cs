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

    /// <summary>
    /// Replace the agent with a signed release (an InstaDeploy extension, sent only to an agent that announced
    /// <see cref="HandshakeHeaders.FeatureAgentUpdates"/>): payload <see cref="UpdateAgentPayload"/>. The job completes once
    /// the release is downloaded, verified and unpacked; the agent then restarts into it when its running jobs have finished.
    /// </summary>
    public const string UpdateAgent = "UPDATE_AGENT";

    /// <summary>Install (or replace) a signed plugin package in the agent's plugins folder: payload <see cref="InstallPluginPayload"/>.</summary>
    public const string InstallPlugin = "INSTALL_PLUGIN";

    /// <summary>Remove a plugin from the agent's plugins folder: payload <see cref="RemovePluginPayload"/>.</summary>
    public const string RemovePlugin = "REMOVE_PLUGIN";
}
