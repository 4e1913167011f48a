namespace InstaDeploy.ControlPlane.Audit;

/// <summary>One state-changing call: when, who (an API key, a webhook, the control plane itself), from where, what on
/// which target, what came of it, and a summary of the request with every secret left out.</summary>
public sealed class AuditEntryEntity
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }

    /// <summary>See <see cref="AuditActorKinds"/>.</summary>
    public required string ActorKind { get; set; }

    /// <summary>The API key's id, or the webhook's; null for the control plane itself.</summary>
    public string? ActorId { get; set; }

    /// <summary>The API key's name, or the webhook's.</summary>
    public required string ActorName { get; set; }

    /// <summary>The client address the call came from, when it came over the network.</summary>
    public string? SourceAddress { get; set; }

    /// <summary>What was done, e.g. <c>deploy</c>, <c>variable.set</c>, <c>api_key.revoke</c> (<see cref="AuditActions"/>).</summary>
    public required string Action { get; set; }

    /// <summary>What it was done to, e.g. <c>project:web@vps-1</c>, <c>api_key:key_x</c>, <c>registry:ghcr.io</c>.</summary>
    public required string Target { get; set; }

    /// <summary>See <see cref="AuditOutcomes"/>.</summary>
    public required string Outcome { get; set; }

    /// <summary>The HTTP status the call was (or would have been) answered with.</summary>
    public int Status { get; set; }

    /// <summary>Why it was refused or failed, or what was created (a job id), in words.</summary>
    public string Detail { get; set; } = "";

    /// <summary>The request, summarized as JSON, with secret values replaced (never stored).</summary>
    public string? Summary { get; set; }

    /// <summary>The job it created, if any.</summary>
    public string? JobId { get; set; }
}
