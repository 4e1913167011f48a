namespace InstaDeploy.Contracts;

/// <summary>HTTP headers an agent sends on the WebSocket upgrade request (seed protocol).</summary>
public static class HandshakeHeaders
{
    /// <summary><c>Authorization: Bearer &lt;AGENT_SECRET_TOKEN&gt;</c>.</summary>
    public const string Authorization = "Authorization";

    /// <summary>The agent's version, e.g. <c>1.0.0</c>.</summary>
    public const string AgentVersion = "X-Agent-Version";

    /// <summary>The agent's OS and CPU architecture, e.g. <c>linux-amd64</c>.</summary>
    public const string AgentArchitecture = "X-Agent-Architecture";

    /// <summary>The agent's hostname; it is also the agent's id in the control plane.</summary>
    public const string AgentHostname = "X-Agent-Hostname";

    /// <summary>
    /// Response header of the upgrade: the extensions this control plane understands, comma separated. A seed server
    /// sends none, so an agent uses none.
    /// </summary>
    public const string Features = "X-InstaDeploy-Features";

    /// <summary>Feature: the control plane accepts <see cref="AgentPluginsMessage"/>.</summary>
    public const string FeatureAgentPlugins = "agent-plugins";

    /// <summary>Request header of the upgrade: the extensions this agent understands, comma separated.</summary>
    public const string AgentFeatures = "X-InstaDeploy-Agent-Features";

    /// <summary>
    /// Feature, both ways: the agent remembers job ids and results on disk and answers a re-sent command with its
    /// stored result; it reports <see cref="AgentStateMessage"/> after connecting; the control plane acknowledges
    /// each persisted result with an <c>ACK</c> command, after which the agent forgets it.
    /// </summary>
    public const string FeatureReliableDelivery = "reliable-delivery";

    /// <summary>
    /// Feature, agent to control plane: the agent applies the <see cref="DeployPayload"/> fields of DEPLOY_COMPOSE
    /// (project variables, health wait, rollback_on_failure). A seed agent ignores them, so the control plane refuses
    /// to send it a deploy that depends on them.
    /// </summary>
    public const string FeatureProjectConfig = "project-config";

    /// <summary>
    /// Feature, agent to control plane: the agent keeps a key of its own. When it connects with the shared token and its
    /// id has no key yet (trust on first use), the control plane answers the upgrade with <see cref="AgentKey"/>; the agent
    /// stores it owner-only, says so with <see cref="AgentKeyStoredMessage"/>, and presents it from then on. From then on its
    /// id accepts only that key, so another holder of the shared token cannot take the id over.
    /// </summary>
    public const string FeatureAgentKey = "agent-key";

    /// <summary>
    /// Feature, agent to control plane: the agent uses the registry logins a DEPLOY_COMPOSE carries
    /// (<see cref="DeployPayload.RegistryAuths"/>) for that job only and runs REGISTRY_LOGIN. A control plane sends
    /// registry logins to no other agent (a seed agent would ignore them, and nothing there would redact them).
    /// </summary>
    public const string FeatureRegistryAuth = "registry-auth";

    /// <summary>Response header of the upgrade, only to an agent that announced <see cref="FeatureAgentKey"/>: its new key.</summary>
    public const string AgentKey = "X-InstaDeploy-Agent-Key";

    /// <summary>Response header of the upgrade: the largest message the control plane takes from the agent, in bytes;
    /// the agent keeps every message (its output batches, its final result) under it.</summary>
    public const string MaxMessageBytes = "X-InstaDeploy-Max-Message-Bytes";

    /// <summary>
    /// Request header of the upgrade: the agent's labels from its <c>AGENT_LABELS</c> setting, <c>role=web,region=eu</c>
    /// (see <see cref="AgentLabels"/>). Sent only when the agent has labels; a seed server ignores an unknown request
    /// header, so nothing is negotiated first.
    /// </summary>
    public const string AgentLabels = "X-InstaDeploy-Agent-Labels";

    /// <summary>
    /// Request header of the upgrade: a random id the agent process picks when it starts. A second live process that
    /// connects with the same agent id is told so and refused, instead of the two taking the id (and each other's jobs)
    /// in turns.
    /// </summary>
    public const string AgentInstance = "X-InstaDeploy-Agent-Instance";

    /// <summary>
    /// Feature, control plane to agent: the control plane takes <see cref="AgentShuttingDownMessage"/>. An agent that is
    /// told to stop says so first, keeps its connection while its running jobs finish and their results go out, then
    /// closes; the control plane sends it nothing new meanwhile.
    /// </summary>
    public const string FeatureGracefulStop = "graceful-stop";

    /// <summary>
    /// Feature, both ways: the agent runs <see cref="CommandTypes.UpdateAgent"/>, <see cref="CommandTypes.InstallPlugin"/> and
    /// <see cref="CommandTypes.RemovePlugin"/> (downloading from the control plane with its own key). How an update ended
    /// travels as its UPDATE_AGENT job's result (<c>outcome</c>: updated, rolled_back or refused, with the versions), which
    /// reliable delivery already carries across the restart.
    /// </summary>
    public const string FeatureAgentUpdates = "agent-updates";

    /// <summary>Feature, control plane to agent: the control plane takes <see cref="AgentMetricsMessage"/> (host and container
    /// metrics every few seconds).</summary>
    public const string FeatureAgentMetrics = "agent-metrics";
}
