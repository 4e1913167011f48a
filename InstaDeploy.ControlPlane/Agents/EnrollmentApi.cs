using InstaDeploy.ControlPlane.ApiKeys;
using InstaDeploy.ControlPlane.Infrastructure;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>Ask for an enrollment token.</summary>
/// <param name="Name">What it is for, e.g. "web-07".</param>
/// <param name="ExpiresInSeconds">How long it can be used (60 to 604800; default 3600).</param>
/// <param name="Uses">How many agents may enroll with it (1 to 1000; default 1).</param>
/// <param name="AgentId">The only agent id that may enroll with it; any id when left out.</param>
public sealed record CreateEnrollmentTokenRequest(string? Name, int? ExpiresInSeconds = null, int? Uses = null, string? AgentId = null);

/// <summary>An enrollment token just created, with its secret: shown once.</summary>
/// <param name="Id">Its id, for revoking it.</param>
/// <param name="Name">What it is for.</param>
/// <param name="Token">Give it to the agent as AGENT_ENROLLMENT_TOKEN. It cannot be shown again.</param>
/// <param name="ExpiresAt">When it stops working.</param>
/// <param name="Uses">How many enrollments it allows.</param>
/// <param name="AgentId">The only agent id it enrolls, or null for any.</param>
public sealed record CreatedEnrollmentTokenDto(string Id, string Name, string Token, DateTimeOffset ExpiresAt, int Uses, string? AgentId);

/// <summary>An enrollment token as listed: never its secret.</summary>
public sealed record EnrollmentTokenDto(string Id, string Name, int UsesLeft, string? AgentId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? RevokedAt);

/// <summary>An agent's enrollment: the id it will connect as.</summary>
/// <param name="AgentId">The agent's id (its AGENT_HOSTNAME).</param>
public sealed record EnrollRequest(string? AgentId);

/// <summary>The agent's own key: it stores it (owner-only) and presents it from then on.</summary>
public sealed record EnrolledDto(string AgentId, string AgentKey);

public static class EnrollmentApi
{
    public static IEndpointRouteBuilder MapEnrollmentApi(this IEndpointRouteBuilder app)
    {
        var tokens = app.MapGroup("/enrollment-tokens").WithTags("Agent credentials")
            .RequireAuthorization(ApiKeyScopes.Admin).RequireRateLimiting(RateLimits.PerKey);
        tokens.MapPost("/", Create)
            .WithName("CreateEnrollmentToken")
            .Audited(Audit.AuditActions.EnrollmentTokenCreate)
            .WithSummary("Create an enrollment token")
            .WithDescription("A short-lived, limited-use token an agent trades once for its own agent key (POST /agents/enroll). Shown once; stored hashed. Needs the admin scope.")
            .WithRequestExample(new { name = "web-07", expires_in_seconds = 3600, uses = 1, agent_id = "web-07" });
        tokens.MapGet("/", List)
            .WithName("ListEnrollmentTokens")
            .WithSummary("List enrollment tokens")
            .WithDescription("Every enrollment token with its uses left and expiry; never its secret. Oldest first; limit defaults to 1000 (max 1000); a full page answers the next one's cursor in X-Next-Cursor and a Link header (rel=\"next\"): pass it as cursor. Needs the admin scope.");
        tokens.MapDelete("/{tokenId}", RevokeToken)
            .WithName("RevokeEnrollmentToken")
            .Audited(Audit.AuditActions.EnrollmentTokenRevoke)
            .WithSummary("Revoke an enrollment token")
            .WithDescription("No agent can enroll with it any more. Needs the admin scope.");

        app.MapPost("/agents/enroll", Enroll)
            .WithTags("Agent credentials")
            .AllowAnonymous()
            .WithName("EnrollAgent")
            .WithSummary("Enroll an agent (called by the agent)")
            .WithDescription("With 'Authorization: Bearer <enrollment token>', returns the agent's own key for agent_id, once. The agent does this itself when AGENT_ENROLLMENT_TOKEN is set.")
            .WithRequestExample(new { agent_id = "web-07" });

        app.MapPost("/agents/{agentId}/revoke", RevokeAgent)
            .WithTags("Agent credentials")
            .RequireAuthorization(ApiKeyScopes.Admin).RequireRateLimiting(RateLimits.PerKey)
            .WithName("RevokeAgent")
            .Audited(Audit.AuditActions.AgentRevoke)
            .WithSummary("Revoke an agent")
            .WithDescription("Disconnects the agent now and refuses it from then on, whatever token it presents, until an admin restores it (POST /agents/{agentId}/restore). Needs the admin scope.");

        app.MapPost("/agents/{agentId}/restore", RestoreAgent)
            .WithTags("Agent credentials")
            .RequireAuthorization(ApiKeyScopes.Admin).RequireRateLimiting(RateLimits.PerKey)
            .WithName("RestoreAgent")
            .Audited(Audit.AuditActions.AgentRestore)
            .WithSummary("Lift an agent's revocation")
            .WithDescription("The revoked id may come back: by enrolling with an enrollment token, or (if the shared token is allowed) by connecting with it and being issued a new key of its own. Its old key stays invalid. Needs the admin scope.");
        return app;
    }

    private static async Task<Results<Created<CreatedEnrollmentTokenDto>, ValidationProblem>> Create(
        CreateEnrollmentTokenRequest request, AgentCredentials credentials, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var (token, plaintext, refusal) = await credentials.TryCreateEnrollmentTokenAsync(request.Name, request.ExpiresInSeconds, request.Uses, request.AgentId, Audit.AuditActor.Of(user), cancellationToken);
        if (refusal is not null) return Problems.Invalid(refusal.Field!, refusal.Detail);
        return TypedResults.Created($"/enrollment-tokens/{token!.Id}", new CreatedEnrollmentTokenDto(token!.Id, token.Name, plaintext!, token.ExpiresAt, token.UsesLeft, token.AgentId));
    }

    public const string CursorList = "enrollment-tokens";
    public const int DefaultLimit = 1000;
    public const int MaxLimit = 1000;

    private static async Task<Results<Ok<EnrollmentTokenDto[]>, ValidationProblem>> List([Microsoft.AspNetCore.Mvc.FromQuery(Name = "limit")] int? limit,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "cursor")] string? cursor, AgentCredentials credentials, HttpContext context, CancellationToken cancellationToken)
    {
        var (take, after, refusal) = PageCursor.Read(CursorList, 2, limit, cursor, DefaultLimit, MaxLimit);
        if (refusal is not null) return Problems.Invalid(refusal.Field!, refusal.Detail);
        var page = await credentials.ListEnrollmentTokensPageAsync(take, after, cancellationToken);
        PageCursor.SetNextIfFull(context, page, take, t => PageCursor.Encode(CursorList, PageCursor.Key(t.CreatedAt), t.Id));
        return TypedResults.Ok(page.Select(t => new EnrollmentTokenDto(t.Id, t.Name, t.UsesLeft, t.AgentId, t.CreatedAt, t.ExpiresAt, t.RevokedAt)).ToArray());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeToken(string tokenId, AgentCredentials credentials, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken) =>
        await credentials.RevokeEnrollmentTokenAsync(tokenId, Audit.AuditActor.Of(user), cancellationToken)
            ? TypedResults.NoContent()
            : Problems.NotFound("Unknown enrollment token", $"No enrollment token '{tokenId}'.");

    private static async Task<Results<Ok<EnrolledDto>, ValidationProblem, ProblemHttpResult>> Enroll(
        EnrollRequest request, HttpContext context, AgentCredentials credentials, CancellationToken cancellationToken)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var bearer = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..] : null;
        // The token first: without a usable one, the caller learns nothing but 401.
        if (!await credentials.IsUsableEnrollmentTokenAsync(bearer, cancellationToken))
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: "Send 'Authorization: Bearer <enrollment token>' with a token from POST /enrollment-tokens that is not expired, revoked or used up.");
        if (!Contracts.AgentIds.IsValid(request.AgentId))
            return Problems.Invalid("agent_id", "must be 1-253 letters, digits, '.', '_' or '-', starting with a letter or digit");
        var (key, status, problem) = await credentials.EnrollAsync(bearer, request.AgentId, cancellationToken);
        return key is not null
            ? TypedResults.Ok(new EnrolledDto(request.AgentId, key))
            : TypedResults.Problem(statusCode: status, title: status switch { 409 => "Agent id taken", 403 => "Token for another agent", _ => "Unauthorized" }, detail: problem);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAgent(string agentId, AgentCredentials credentials, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken) =>
        await credentials.RevokeAgentAsync(agentId, Audit.AuditActor.Of(user), cancellationToken)
            ? TypedResults.NoContent()
            : Problems.NotFound("Unknown agent", $"No agent '{agentId}'. GET /agents lists the known agents.");

    private static async Task<Results<NoContent, ProblemHttpResult>> RestoreAgent(string agentId, AgentCredentials credentials, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken) =>
        await credentials.RestoreAgentAsync(agentId, Audit.AuditActor.Of(user), cancellationToken)
            ? TypedResults.NoContent()
            : Problems.NotFound("No revoked agent", $"No revoked agent '{agentId}'. GET /agents lists the known agents.");
}
