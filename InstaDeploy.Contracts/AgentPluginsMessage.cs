using System.Text.Json.Serialization;

namespace InstaDeploy.Contracts;

/// <summary>
/// Agent to control plane, outside the seed protocol: the plugins the agent has loaded, sent after connecting and
/// whenever they change: <c>{"type": "AGENT_PLUGINS", "plugins": [{"name", "version", "command_types"}]}</c>.
/// Sent only to a control plane that announced the <see cref="HandshakeHeaders.FeatureAgentPlugins"/> feature,
/// so a seed server never receives it.
/// </summary>
public sealed record AgentPluginsMessage
{
    /// <summary>The message type tag.</summary>
    public const string MessageType = "AGENT_PLUGINS";

    /// <summary>Always <see cref="MessageType"/>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; init; } = MessageType;

    /// <summary>The loaded plugins.</summary>
    [JsonPropertyName("plugins")]
    public required IReadOnlyList<PluginInfo> Plugins { get; init; }
}

/// <summary>A plugin loaded on an agent.</summary>
public sealed record PluginInfo
{
    /// <summary>The plugin's folder and assembly name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The plugin's version.</summary>
    [JsonPropertyName("version")]
    public required string Version { get; init; }

    /// <summary>The command types it runs on this agent.</summary>
    [JsonPropertyName("command_types")]
    public required IReadOnlyList<string> CommandTypes { get; init; }
}
