namespace InstaDeploy.ControlPlane.ApiKeys;

/// <summary>What an API key may do. Each scope includes the ones below it: admin ⊃ deploy ⊃ read.</summary>
public static class ApiKeyScopes
{
    /// <summary>GET agents, jobs, deployments.</summary>
    public const string Read = "read";

    /// <summary>Deploy, stop, status, health checks and commands on agents.</summary>
    public const string Deploy = "deploy";

    /// <summary>Create, list and revoke API keys.</summary>
    public const string Admin = "admin";

    public static readonly string[] All = [Read, Deploy, Admin];

    /// <summary>The scopes a key with <paramref name="scopes"/> holds, implied ones included.</summary>
    public static IEnumerable<string> Expand(IEnumerable<string> scopes)
    {
        var set = scopes.ToHashSet(StringComparer.Ordinal);
        if (set.Contains(Admin)) set.Add(Deploy);
        if (set.Contains(Deploy)) set.Add(Read);
        return set.Order(StringComparer.Ordinal);
    }

    /// <summary>The claim a key with host access carries (admin keys always do): its deploys may give containers access to
    /// their host. Without it, the deploy policy is applied to the key's deploys and rollbacks.</summary>
    public const string HostAccessClaim = "host_access";

    /// <summary>Whether the caller's deploys must follow the deploy policy whatever INSTADEPLOY_POLICY says.</summary>
    public static bool IsRestricted(System.Security.Claims.ClaimsPrincipal user) => !user.HasClaim(HostAccessClaim, "true");
}
