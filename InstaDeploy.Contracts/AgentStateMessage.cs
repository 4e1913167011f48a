using System.Text.Json.Serialization;

namespace InstaDeploy.Contracts;

/// <summary>
/// Agent to control plane, right after connecting, with the reliable-delivery feature:
/// <c>{"type": "AGENT_STATE", "running": [job ids], "results": [job ids]}</c>: the jobs it is running and the jobs
/// whose results it holds (and is about to send). The control plane re-sends every open job of the agent that is in
/// neither list.
/// </summary>
public sealed record AgentStateMessage
{
    /// <summary>The message type tag.</summary>
    public const string MessageType = "AGENT_STATE";

    /// <summary>Always <see cref="MessageType"/>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; init; } = MessageType;

    /// <summary>Jobs running on the agent now.</summary>
    [JsonPropertyName("running")]
    public IReadOnlyList<string> Running { get; init; } = [];

    /// <summary>Jobs whose final results the agent holds, not yet acknowledged.</summary>
    [JsonPropertyName("results")]
    public IReadOnlyList<string> Results { get; init; } = [];
}
