using System.Text.Json.Serialization;

namespace InstaDeploy.Contracts;

/// <summary>
/// Agent to control plane, with <see cref="HandshakeHeaders.FeatureAgentUpdates"/>: how the last update ended, as the
/// agent's launcher recorded it, sent after connecting until the control plane has it:
/// <c>{"type": "AGENT_UPDATE_REPORT", "version": "1.3.0", "outcome": "rolled_back", "reason": "…", "running_version": "1.2.0"}</c>.
/// </summary>
public sealed record AgentUpdateReportMessage
{
    /// <summary>The message type tag.</summary>
    public const string MessageType = "AGENT_UPDATE_REPORT";

    /// <summary>The new version made the switch: it connected and passed its health check.</summary>
    public const string Confirmed = "confirmed";

    /// <summary>The new version did not confirm in time, or exited first: the previous one runs again.</summary>
    public const string RolledBack = "rolled_back";

    /// <summary>Always <see cref="MessageType"/>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; init; } = MessageType;

    /// <summary>The version the update was to.</summary>
    [JsonPropertyName("version")]
    public required string Version { get; init; }

    /// <summary><see cref="Confirmed"/> or <see cref="RolledBack"/>.</summary>
    [JsonPropertyName("outcome")]
    public required string Outcome { get; init; }

    /// <summary>Why, in words (the new version's exit code, or the time it had).</summary>
    [JsonPropertyName("reason")]
    public string Reason { get; init; } = "";

    /// <summary>The version running now.</summary>
    [JsonPropertyName("running_version")]
    public required string RunningVersion { get; init; }
}
