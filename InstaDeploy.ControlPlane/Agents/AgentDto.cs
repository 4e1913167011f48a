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
public sealed record AgentDto(
    string Id, string Hostname, string Version, string Architecture, bool Online,
    DateTimeOffset LastSeen, DateTimeOffset FirstSeen, DateTimeOffset? ConnectedAt);

internal static class AgentMapping
{
    public static AgentDto ToDto(this AgentEntity agent) => new(
        agent.Id, agent.Hostname, agent.Version, agent.Architecture, agent.Online, agent.LastSeen, agent.FirstSeen, agent.ConnectedAt);
}
