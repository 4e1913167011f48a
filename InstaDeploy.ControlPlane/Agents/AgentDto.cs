using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>An agent as the REST API shows it.</summary>
/// <param name="Id">The agent's id (its hostname); use it as <c>agent_id</c>.</param>
/// <param name="Hostname">The hostname the agent announced.</param>
/// <param name="Version">The agent's version.</param>
/// <param name="Architecture">The agent's OS and CPU architecture.</param>
/// <param name="Online">Whether the agent is connected now.</param>
/// <param name="LastSeen">When the agent was last known to be connected.</param>
/// <param name="FirstSeen">When the agent first connected.</param>
/// <param name="ConnectedAt">When its current (or last) connection began.</param>
/// <param name="Plugins">The plugins the agent reported (name, version, command types); null for an agent that does not report them.</param>
/// <param name="CommandTypes">Every command type the agent's plugins run; null when unknown.</param>
/// <param name="Labels">The labels selectors see: what the agent announced, with the admin's overrides applied (they win).</param>
/// <param name="AnnouncedLabels">The labels the agent announced on its last connect (its AGENT_LABELS).</param>
/// <param name="LabelOverrides">What an admin set with PUT /agents/{agent_id}/labels (null removes an announced label); null when none.</param>
/// <param name="LastUpdate">How its last update through the control plane ended (on GET /agents/{agent_id}; null in lists and when it never had one).</param>
public sealed record AgentDto(
    string Id, string Hostname, string Version, string Architecture, bool Online,
    DateTimeOffset LastSeen, DateTimeOffset FirstSeen, DateTimeOffset? ConnectedAt,
    IReadOnlyList<PluginInfo>? Plugins, IReadOnlyList<string>? CommandTypes,
    IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> AnnouncedLabels, IReadOnlyDictionary<string, string?>? LabelOverrides,
    Releases.AgentUpdateDto? LastUpdate = null);

internal static class AgentMapping
{
    public static AgentDto ToDto(this AgentEntity agent)
    {
        var plugins = agent.Plugins();
        return new(agent.Id, agent.Hostname, agent.Version, agent.Architecture, agent.Online, agent.LastSeen, agent.FirstSeen, agent.ConnectedAt,
            plugins, plugins?.SelectMany(p => p.CommandTypes).Distinct().Order(StringComparer.Ordinal).ToList(),
            agent.Effective(), agent.Announced(), agent.Overrides());
    }

    public static IReadOnlyList<PluginInfo>? Plugins(this AgentEntity agent) =>
        agent.PluginsJson is null ? null : JsonSerializer.Deserialize<List<PluginInfo>>(agent.PluginsJson);
}

/// <summary>Run a command type on an agent.</summary>
/// <param name="Type">The command type, e.g. RESTART_COMPOSE.</param>
/// <param name="Payload">The command's payload, a JSON object (default {}).</param>
/// <param name="TimeoutSeconds">How long the command may take once sent before it ends TIMED_OUT.</param>
/// <param name="QueueTtlSeconds">If the agent is offline, how long the job waits for it before it ends EXPIRED.</param>
/// <param name="FailFast">If the agent is offline, answer 409 instead of queueing.</param>
public sealed record CommandRequest(string? Type, JsonElement? Payload = null, int? TimeoutSeconds = null, int? QueueTtlSeconds = null, bool FailFast = false);

/// <summary>An admin's labels for an agent.</summary>
/// <param name="Labels">Label overrides: each value replaces (or adds) the agent's own label of that key; a null value removes the announced label. They replace any overrides set before.</param>
public sealed record AgentLabelsRequest(Dictionary<string, string?>? Labels);
