using System.Collections.Concurrent;
using System.Net.WebSockets;
using InstaDeploy.ControlPlane.Jobs.Delivery;

namespace InstaDeploy.ControlPlane.Hub;

/// <summary>The agents connected to this control plane right now, by agent id.</summary>
public sealed class AgentConnectionRegistry : IAgentLinks
{
    private readonly ConcurrentDictionary<string, AgentConnection> _connections = new(StringComparer.Ordinal);

    public int Count => _connections.Count;

    public bool TryGet(string agentId, out AgentConnection connection) => _connections.TryGetValue(agentId, out connection!);

    public IReadOnlyCollection<string> ConnectedAgentIds => [.. _connections.Keys];

    bool IAgentLinks.TryGet(string agentId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IAgentLink? link)
    {
        var found = _connections.TryGetValue(agentId, out var connection);
        link = connection;
        return found;
    }

    /// <summary>Adds a connection. An agent id connects once: a newer connection replaces (and closes) the older one,
    /// since the older one is most likely half-open after a network change.</summary>
    public AgentConnection? Add(AgentConnection connection)
    {
        AgentConnection? replaced = null;
        _connections.AddOrUpdate(connection.AgentId, connection, (_, old) =>
        {
            replaced = old;
            return connection;
        });
        if (replaced is not null)
            _ = replaced.CloseAsync(WebSocketCloseStatus.PolicyViolation, "replaced by a newer connection of the same agent");
        return replaced;
    }

    /// <summary>Removes the connection if it is still the agent's current one; returns whether it was.</summary>
    public bool Remove(AgentConnection connection) =>
        _connections.TryRemove(new KeyValuePair<string, AgentConnection>(connection.AgentId, connection));
}
