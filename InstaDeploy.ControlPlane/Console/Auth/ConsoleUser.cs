using System.Security.Claims;
using InstaDeploy.ControlPlane.ApiKeys;
using InstaDeploy.ControlPlane.Deployments;

namespace InstaDeploy.ControlPlane.WebConsole.Auth;

/// <summary>Who is signed in: the API key's name, id and scopes, and what that lets the console offer.</summary>
public sealed record ConsoleUser(ClaimsPrincipal Principal)
{
    public string Name => Principal.Identity?.Name ?? "";

    public string? KeyId => Principal.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim);

    public bool IsSignedIn => Principal.Identity?.IsAuthenticated == true && KeyId is not null;

    public IReadOnlyList<string> Scopes => [.. Principal.FindAll(ApiKeyAuthenticationHandler.ScopeClaim).Select(c => c.Value)];

    public bool Can(string scope) => Principal.HasClaim(ApiKeyAuthenticationHandler.ScopeClaim, scope);

    public bool CanDeploy => Can(ApiKeyScopes.Deploy);

    public bool IsAdmin => Can(ApiKeyScopes.Admin);

    /// <summary>Who the user's actions are recorded as in the audit log.</summary>
    public Audit.AuditActor Actor => Audit.AuditActor.Of(Principal);

    /// <summary>The deployer recorded on revisions, held to the deploy policy as its key is.</summary>
    public Deployer Deployer => Deployer.Of(Principal);

    /// <summary>The scope a user's scopes are shown as: the highest.</summary>
    public string Role => IsAdmin ? ApiKeyScopes.Admin : CanDeploy ? ApiKeyScopes.Deploy : ApiKeyScopes.Read;
}
