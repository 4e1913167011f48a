using InstaDeploy.ControlPlane.ApiKeys;
using Microsoft.AspNetCore.Authorization;

namespace InstaDeploy.ControlPlane.WebConsole.Auth;

/// <summary>The console's authorization policies: a session (cookie) with the scope named.</summary>
public static class ConsolePolicies
{
    public const string Read = "console-read";
    public const string Deploy = "console-deploy";
    public const string Admin = "console-admin";

    public static AuthorizationBuilder AddConsolePolicies(this AuthorizationBuilder authorization) => authorization
        .AddPolicy(Read, Scoped(ApiKeyScopes.Read))
        .AddPolicy(Deploy, Scoped(ApiKeyScopes.Deploy))
        .AddPolicy(Admin, Scoped(ApiKeyScopes.Admin));

    private static Action<AuthorizationPolicyBuilder> Scoped(string scope) => policy => policy
        .AddAuthenticationSchemes(ConsoleAuthentication.Scheme)
        .RequireAuthenticatedUser()
        .RequireClaim(ApiKeyAuthenticationHandler.ScopeClaim, scope);
}
