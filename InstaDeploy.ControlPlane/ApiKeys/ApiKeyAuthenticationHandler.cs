using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.ApiKeys;

/// <summary>
/// Authenticates REST calls by <c>Authorization: Bearer &lt;api key&gt;</c>, checked against the database on every
/// request (so a revocation takes effect on the next one), and answers 401/403 as problem details.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ScopeClaim = "scope";
    public const string KeyIdClaim = "key_id";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string header = Request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)) return AuthenticateResult.NoResult();
        var presented = header[bearer.Length..].Trim();
        if (presented.Length == 0) return AuthenticateResult.Fail("empty bearer token");

        var key = await keys.AuthenticateAsync(presented, Context.RequestAborted);
        if (key is null) return AuthenticateResult.Fail("unknown, revoked or expired API key");

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(ClaimsOf(key, Context.Connection.RemoteIpAddress), SchemeName)), SchemeName));
    }

    /// <summary>What a caller with <paramref name="key"/> holds: its name, id, scopes (implied ones included) and host
    /// access. The console's session carries the same claims.</summary>
    public static List<Claim> ClaimsOf(Data.ApiKeyEntity key, System.Net.IPAddress? address = null)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, key.Name), new(KeyIdClaim, key.Id) };
        if (address is not null) claims.Add(new Claim(Audit.AuditActor.AddressClaim, address.ToString()));
        var scopes = ApiKeyScopes.Expand(key.Scopes.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToList();
        claims.AddRange(scopes.Select(s => new Claim(ScopeClaim, s)));
        if (key.HostAccess || scopes.Contains(ApiKeyScopes.Admin)) claims.Add(new Claim(ApiKeyScopes.HostAccessClaim, "true"));
        return claims;
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status401Unauthorized, "Unauthorized",
            "Send 'Authorization: Bearer <api key>'. The key is missing, unknown, revoked or expired. An admin creates keys with POST /api-keys.");

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var needed = Context.GetEndpoint()?.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>()
            .Select(a => a.Policy).LastOrDefault(p => p is not null);
        return WriteProblemAsync(StatusCodes.Status403Forbidden, "Forbidden",
            $"This API key lacks the '{needed}' scope this endpoint needs. Its scopes: {string.Join(", ", Context.User.FindAll(ScopeClaim).Select(c => c.Value))}.");
    }

    private async Task WriteProblemAsync(int status, string title, string detail)
    {
        Response.StatusCode = status;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
