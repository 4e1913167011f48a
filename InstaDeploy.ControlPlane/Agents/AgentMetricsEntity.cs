namespace InstaDeploy.ControlPlane.Agents;

/// <summary>
/// The latest host and container metrics of one agent: one row per agent, replaced by each new sample, so that every
/// control-plane instance answers GET /agents/{id}/metrics whichever one the agent is connected to.
/// </summary>
public sealed class AgentMetricsEntity
{
    public required string AgentId { get; set; }

    /// <summary>When the instance the agent is connected to received the sample.</summary>
    public DateTimeOffset ReceivedAt { get; set; }

    /// <summary>The sample as bounded on receipt (<see cref="AgentMetricsStore"/>), in the wire format.</summary>
    public required string SampleJson { get; set; }
}
