using InstaDeploy.ControlPlane.Data;

namespace InstaDeploy.ControlPlane.Jobs.Delivery;

/// <summary>
/// Builds the payload of one command type as it goes over the wire, for types whose stored payload is not all of it
/// (a deploy's variables are stored encrypted and merged in only as the command is written). Types with no writer are
/// sent with their stored payload as it is.
/// </summary>
public interface ICommandWriter
{
    /// <summary>The command type this writer builds.</summary>
    string CommandType { get; }

    /// <summary>The payload JSON to send to <paramref name="agent"/>, or why the job cannot be sent to it (the job then
    /// fails with that reason).</summary>
    WirePayload Write(JobEntity job, AgentCapabilities agent);
}

/// <summary>A payload ready for the wire, or the reason there is none.</summary>
/// <param name="Json">The payload, when the job can be sent.</param>
/// <param name="Refusal">Why the job cannot be sent to this agent; it fails with this error.</param>
public readonly record struct WirePayload(string? Json, string? Refusal)
{
    /// <summary>The payload to send.</summary>
    public static WirePayload Send(string json) => new(json, null);

    /// <summary>The job cannot go to this agent.</summary>
    public static WirePayload Refuse(string reason) => new(null, reason);
}
