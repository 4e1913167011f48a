using System.Text.Json.Serialization;

namespace InstaDeploy.Contracts;

/// <summary>
/// Agent to control plane, with the <see cref="HandshakeHeaders.FeatureGracefulStop"/> feature:
/// <c>{"type": "AGENT_SHUTTING_DOWN", "drain_seconds": 25}</c>, the agent is stopping; it sends the results of the jobs
/// still running within <see cref="DrainSeconds"/>, then closes. The control plane sends it no new command meanwhile;
/// they wait for its next connection.
/// </summary>
public sealed record AgentShuttingDownMessage
{
    /// <summary>The message type tag.</summary>
    public const string MessageType = "AGENT_SHUTTING_DOWN";

    /// <summary>Always <see cref="MessageType"/>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; init; } = MessageType;

    /// <summary>How long the running jobs have to finish.</summary>
    [JsonPropertyName("drain_seconds")]
    public int DrainSeconds { get; init; }
}

/// <summary>Labels the agent puts on the containers it starts.</summary>
public static class ContainerLabels
{
    /// <summary>The control plane's revision number of the deploy that started the container, so what the engine runs can
    /// always be told from the engine itself (STATUS reports it).</summary>
    public const string Revision = "io.instadeploy.revision";
}
