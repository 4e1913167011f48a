using System.Diagnostics.CodeAnalysis;

namespace InstaDeploy.ControlPlane.Jobs.Delivery;

/// <summary>
/// The agents jobs can be sent to right now, as jobs see them: who is connected, what each speaks, and a way to write a
/// command to it. The hub's WebSocket registry is one implementation; a connection held by another control-plane
/// instance would be another, with no change to the code that submits or delivers jobs.
/// </summary>
public interface IAgentLinks
{
    /// <summary>How many agents are connected.</summary>
    int Count { get; }

    /// <summary>The ids of the connected agents.</summary>
    IReadOnlyCollection<string> ConnectedAgentIds { get; }

    /// <summary>The agent's link, if it is connected.</summary>
    bool TryGet(string agentId, [NotNullWhen(true)] out IAgentLink? link);
}

/// <summary>One connected agent.</summary>
public interface IAgentLink
{
    /// <summary>The agent's id.</summary>
    string AgentId { get; }

    /// <summary>The protocol extensions the agent announced (see <see cref="Contracts.HandshakeHeaders"/>); none for a
    /// seed-protocol agent.</summary>
    AgentCapabilities Capabilities { get; }

    /// <summary>Writes one message (UTF-8 JSON) to the agent; throws when the connection cannot take it.</summary>
    Task SendAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken);

    /// <summary>Closes the connection (the agent was revoked, say), telling the agent why.</summary>
    Task DisconnectAsync(string reason);
}

/// <summary>What an agent speaks beyond the seed protocol.</summary>
/// <param name="Features">The extensions it announced in <c>X-InstaDeploy-Agent-Features</c>.</param>
public sealed record AgentCapabilities(IReadOnlySet<string> Features)
{
    /// <summary>A seed-protocol agent: no extensions.</summary>
    public static AgentCapabilities Seed { get; } = new(new HashSet<string>());

    /// <summary>Whether the agent announced <paramref name="feature"/>.</summary>
    public bool Has(string feature) => Features.Contains(feature);

    /// <summary>Whether the agent remembers jobs, reports its state and takes ACKs.</summary>
    public bool ReliableDelivery => Has(Contracts.HandshakeHeaders.FeatureReliableDelivery);
}
