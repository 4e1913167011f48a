using System.Security.Claims;
using InstaDeploy.ControlPlane.ApiKeys;

namespace InstaDeploy.ControlPlane.Audit;

/// <summary>Who does something, as the audit log records it: an API key (its id and name), a webhook, or the control
/// plane itself, and the address the call came from.</summary>
/// <param name="Kind">See <see cref="AuditActorKinds"/>.</param>
/// <param name="Id">The key's or webhook's id.</param>
/// <param name="Name">The key's or webhook's name.</param>
/// <param name="Address">The client address, when the call came over the network.</param>
public sealed record AuditActor(string Kind, string? Id, string Name, string? Address)
{
    /// <summary>The claim the API key handler adds with the request's client address, so the domain operations a request
    /// (or a console page) calls know where it came from without an HTTP context.</summary>
    public const string AddressClaim = "source_address";

    /// <summary>The control plane itself (start-up, housekeeping).</summary>
    public static AuditActor System { get; } = new(AuditActorKinds.System, null, "instadeploy", null);

    /// <summary>The caller of a REST request or a console page, from its API key's claims.</summary>
    public static AuditActor Of(ClaimsPrincipal user, string? address = null)
    {
        var keyId = user.FindFirst(ApiKeyAuthenticationHandler.KeyIdClaim)?.Value;
        var name = user.Identity?.Name is { Length: > 0 } n ? n : keyId ?? "anonymous";
        return new AuditActor(keyId is null ? AuditActorKinds.Anonymous : AuditActorKinds.ApiKey, keyId, name, address ?? user.FindFirst(AddressClaim)?.Value);
    }

    /// <summary>A webhook call, authenticated by its signature (or refused).</summary>
    public static AuditActor Webhook(string id, string name, string? address) => new(AuditActorKinds.Webhook, id, name, address);
}
