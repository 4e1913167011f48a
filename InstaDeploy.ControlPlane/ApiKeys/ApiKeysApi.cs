using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;

namespace InstaDeploy.ControlPlane.ApiKeys;

/// <summary>Create a key: a name, its scopes, and optionally when it expires and whether it has host access.</summary>
/// <param name="Name">What the key is for, e.g. "ci-pipeline".</param>
/// <param name="Scopes">Any of read, deploy, admin (admin includes deploy, deploy includes read).</param>
/// <param name="ExpiresAt">When the key stops working; never when left out.</param>
/// <param name="HostAccess">Whether its deploys may give containers access to their host (privileged, bind mounts outside
/// the project, host namespaces...). Left out or false, the deploy policy is applied to its deploys and rollbacks even
/// when INSTADEPLOY_POLICY is off. Admin keys always have it.</param>
public sealed record CreateApiKeyRequest(string? Name, string[]? Scopes, DateTimeOffset? ExpiresAt = null, bool? HostAccess = null);

/// <summary>An API key as listed: never its secret.</summary>
/// <param name="Id">The key's id, for revoking it.</param>
/// <param name="Name">What the key is for.</param>
/// <param name="Scopes">Its scopes.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="ExpiresAt">When it stops working, if ever.</param>
/// <param name="RevokedAt">When it was revoked, if it was.</param>
/// <param name="Active">Whether it works now.</param>
/// <param name="HostAccess">Whether its deploys may give containers access to their host; false: the deploy policy applies to them.</param>
public sealed record ApiKeyDto(string Id, string Name, string[] Scopes, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, bool Active, bool HostAccess);

/// <summary>A key just created, with its secret: shown this once, stored only as a hash.</summary>
/// <param name="Id">The key's id.</param>
/// <param name="Name">What the key is for.</param>
/// <param name="Scopes">Its scopes.</param>
/// <param name="Key">The key: send it as 'Authorization: Bearer &lt;key&gt;'. It cannot be shown again.</param>
/// <param name="ExpiresAt">When it stops working, if ever.</param>
/// <param name="HostAccess">Whether its deploys may give containers access to their host.</param>
public sealed record CreatedApiKeyDto(string Id, string Name, string[] Scopes, string Key, DateTimeOffset? ExpiresAt, bool HostAccess);

public static class ApiKeysApi
{
    private static readonly string[] ExampleScopes = ["deploy"];

    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api-keys").WithTags("API keys").RequireAuthorization(ApiKeyScopes.Admin).RequireRateLimiting(Infrastructure.RateLimits.PerKey);

        keys.MapPost("/", Create)
            .WithName("CreateApiKey")
            .Audited(Audit.AuditActions.ApiKeyCreate)
            .WithSummary("Create an API key")
            .WithDescription("Creates a key with a name, scopes (read, deploy, admin), an optional expiry and host_access. A deploy key without host_access has the deploy policy applied to its deploys and rollbacks (no privileged containers, host namespaces, devices or bind mounts outside the project) even when INSTADEPLOY_POLICY is off; admin keys always have host access. The answer holds the key itself, shown only this once; the control plane keeps only its hash. Needs the admin scope.")
            .WithRequestExample(new { name = "ci-pipeline", scopes = ExampleScopes, expires_at = "2027-06-30T00:00:00Z", host_access = false })
            .WithResponseExample(201, new { id = "key_3mJx0kq2", name = "ci-pipeline", scopes = ExampleScopes, key = "idk_…", expires_at = "2027-06-30T00:00:00+00:00", host_access = false });

        keys.MapGet("/", List)
            .WithName("ListApiKeys")
            .WithSummary("List API keys")
            .WithDescription("Every key with its name, scopes, expiry and whether it is active; never a key's secret. Oldest first; limit defaults to 1000 (max 1000); a full page answers the next one's cursor in X-Next-Cursor and a Link header (rel=\"next\"): pass it as cursor. Needs the admin scope.")
            .WithResponseExample(200, new[] { new { id = "key_3mJx0kq2", name = "ci-pipeline", scopes = ExampleScopes, created_at = "2026-11-27T10:00:00+00:00", expires_at = (string?)null, revoked_at = (string?)null, active = true, host_access = false } });

        keys.MapDelete("/{keyId}", Revoke)
            .WithName("RevokeApiKey")
            .Audited(Audit.AuditActions.ApiKeyRevoke)
            .WithSummary("Revoke an API key")
            .WithDescription("The key stops working on the next request. Needs the admin scope.");

        return app;
    }

    private static async Task<Results<Created<CreatedApiKeyDto>, ValidationProblem>> Create(CreateApiKeyRequest request, ApiKeyStore store, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var (key, plaintext, refusal) = await store.TryCreateAsync(request.Name, request.Scopes, request.ExpiresAt, request.HostAccess == true, Audit.AuditActor.Of(user), cancellationToken);
        if (refusal is not null) return Problems.Invalid(refusal.Field!, refusal.Detail);
        return TypedResults.Created($"/api-keys/{key!.Id}", new CreatedApiKeyDto(key.Id, key.Name, key.Scopes.Split(','), plaintext!, key.ExpiresAt, key.HostAccess));
    }

    public const string CursorList = "api-keys";
    public const int DefaultLimit = 1000;
    public const int MaxLimit = 1000;

    private static async Task<Results<Ok<ApiKeyDto[]>, ValidationProblem>> List([Microsoft.AspNetCore.Mvc.FromQuery(Name = "limit")] int? limit,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "cursor")] string? cursor, ApiKeyStore store, HttpContext context, CancellationToken cancellationToken)
    {
        var (take, after, refusal) = Infrastructure.PageCursor.Read(CursorList, 2, limit, cursor, DefaultLimit, MaxLimit);
        if (refusal is not null) return Infrastructure.Problems.Invalid(refusal.Field!, refusal.Detail);
        var page = await store.ListPageAsync(take, after, cancellationToken);
        Infrastructure.PageCursor.SetNextIfFull(context, page, take, k => Infrastructure.PageCursor.Encode(CursorList, Infrastructure.PageCursor.Key(k.CreatedAt), k.Id));
        return TypedResults.Ok(page.Select(k => ToDto(k, store)).ToArray());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Revoke(string keyId, ApiKeyStore store, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken) =>
        await store.RevokeAsync(keyId, Audit.AuditActor.Of(user), cancellationToken)
            ? TypedResults.NoContent()
            : Problems.NotFound("Unknown API key", $"No API key '{keyId}'. GET /api-keys lists them.");

    public static ApiKeyDto ToDto(ApiKeyEntity key, ApiKeyStore store) =>
        new(key.Id, key.Name, key.Scopes.Split(',', StringSplitOptions.RemoveEmptyEntries), key.CreatedAt, key.ExpiresAt, key.RevokedAt, store.IsActive(key), key.HostAccess);
}
