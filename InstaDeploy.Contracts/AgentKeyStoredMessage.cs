using System.Text.Json.Serialization;

namespace InstaDeploy.Contracts;

/// <summary>
/// Agent to control plane, with the <see cref="HandshakeHeaders.FeatureAgentKey"/> feature: <c>{"type": "AGENT_KEY_STORED"}</c>,
/// the key from the upgrade response is on disk; the control plane then binds the agent's id to that key alone.
/// </summary>
public sealed record AgentKeyStoredMessage
{
    /// <summary>The message type tag.</summary>
    public const string MessageType = "AGENT_KEY_STORED";

    /// <summary>Always <see cref="MessageType"/>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; init; } = MessageType;
}
