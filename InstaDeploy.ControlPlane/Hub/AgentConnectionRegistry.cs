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

    /// <summary>The id's connection when it comes from another live agent process with the same credential (two processes
    /// configured as one agent); null otherwise. A process that says nothing of itself (a seed agent) is never told apart.</summary>
    public AgentConnection? HeldByOtherProcess(string agentId, string identity, string? instance) =>
        instance is not null && _connections.TryGetValue(agentId, out var current) && current.CredentialIdentity == identity
            && current.Instance is not null && current.Instance != instance ? current : null;

    /// <summary>Whether the id is connected now with a credential other than <paramref name="identity"/>.</summary>
    public bool HeldByOtherCredential(string agentId, string identity) =>
        _connections.TryGetValue(agentId, out var current) && current.CredentialIdentity != identity;

    /// <summary>
    /// Adds a connection. An agent id connects once: a newer connection with the same credential replaces (and closes)
    /// the older one, which is most likely half-open after a network change; one with another credential is refused,
    /// so nobody can take over a connected agent's id (and its jobs). False when refused; <paramref name="replaced"/>
    /// says whether an older connection was closed.
    /// </summary>
    public bool TryAdd(AgentConnection connection, out bool replaced)
    {
        while (true)
        {
            if (_connections.TryAdd(connection.AgentId, connection))
            {
                replaced = false;
                return true;
            }
            if (!_connections.TryGetValue(connection.AgentId, out var current)) continue;
            if (current.CredentialIdentity != connection.CredentialIdentity)
            {
                replaced = false;
                return false;
            }
            if (_connections.TryUpdate(connection.AgentId, connection, current))
            {
                _ = current.CloseAsync(WebSocketCloseStatus.PolicyViolation, "replaced by a newer connection of the same agent");
                replaced = true;
                return true;
            }
        }
    }

    /// <summary>Removes the connection if it is still the agent's current one; returns whether it was.</summary>
    public bool Remove(AgentConnection connection) =>
        _connections.TryRemove(new KeyValuePair<string, AgentConnection>(connection.AgentId, connection));
}
