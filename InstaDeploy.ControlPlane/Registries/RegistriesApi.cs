using System.Security.Claims;
using System.Text.Json;
using System.Text.RegularExpressions;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Agents;
using InstaDeploy.ControlPlane.Audit;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs.Output;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Registries;

/// <summary>Set a registry login.</summary>
/// <param name="Username">The user name.</param>
/// <param name="Password">The password or access token; stored encrypted, never shown again.</param>
/// <param name="AgentId">For this agent only (it wins over the others there).</param>
/// <param name="Selector">For the agents this label selector matches (instead of agent_id).</param>
public sealed record SetRegistryRequest(string? Username, string? Password, string? AgentId = null, string? Selector = null);

/// <summary>A registry login as listed: never its password.</summary>
/// <param name="Host">The registry host.</param>
/// <param name="Username">The user name.</param>
/// <param name="AgentId">The one agent it is for, or null.</param>
/// <param name="Selector">The selector of the agents it is for, or null.</param>
/// <param name="UpdatedAt">When it was last set.</param>
/// <param name="UpdatedBy">The API key that last set it.</param>
public sealed record RegistryDto(string Host, string Username, string? AgentId, string? Selector, DateTimeOffset UpdatedAt, string UpdatedBy);

/// <summary>What a login test on an agent found.</summary>
/// <param name="Host">The registry.</param>
/// <param name="AgentId">The agent that tried it.</param>
/// <param name="JobId">The REGISTRY_LOGIN job.</param>
/// <param name="LoggedIn">Whether the registry accepted the login.</param>
/// <param name="Message">What the registry (through docker login) answered.</param>
public sealed record RegistryTestDto(string Host, string AgentId, string JobId, bool LoggedIn, string Message);

/// <summary>Registry logins: set, list, delete, and try one on an agent. Admin scope.</summary>
public static partial class RegistriesApi
{
    public const int MaxPasswordLength = 16 * 1024;
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    public static IEndpointRouteBuilder MapRegistriesApi(this IEndpointRouteBuilder app)
    {
        var registries = app.MapGroup("/registries").WithTags("Registries").RequireAuthorization(ApiKeys.ApiKeyScopes.Admin).RequireRateLimiting(RateLimits.PerKey);
        registries.MapPut("/{host}", SetAsync)
            .WithName("SetRegistryLogin")
            .Audited(AuditActions.RegistrySet)
            .WithRequestExample(new { username = "deploy-bot", password = "ghp_…", selector = "role=web" })
            .WithSummary("Set a registry login")
            .WithDescription("Creates or replaces the login for a registry host (ghcr.io, registry.example.com:5000; docker.io for Docker Hub), for every agent, one agent (agent_id) or the agents a selector matches. The password (or token) is encrypted at rest and never returned. A deploy sends the logins its images need to its agent, which uses them for that job only.");
        registries.MapGet("/", ListAsync)
            .WithName("ListRegistryLogins")
            .WithSummary("List registry logins")
            .WithDescription("Every login: host, user name, which agents it is for, when and by whom it was set; never a password. By host; limit defaults to 1000 (max 1000); a full page answers the next one's cursor in X-Next-Cursor and a Link header (rel=\"next\"): pass it as cursor.");
        registries.MapDelete("/{host}", DeleteAsync)
            .WithName("DeleteRegistryLogin")
            .Audited(AuditActions.RegistryDelete)
            .WithSummary("Delete a registry login")
            .WithDescription("Removes the login for every agent, or with agent_id or selector the one for those agents.");
        registries.MapPost("/{host}/test", TestAsync)
            .WithName("TestRegistryLogin")
            .Audited(AuditActions.RegistryTest)
            .WithSummary("Try a registry login on an agent")
            .WithDescription("Sends REGISTRY_LOGIN with the login that applies to agent_id: the agent runs docker login under a private DOCKER_CONFIG it removes afterwards, and the answer says whether the registry accepted it and what it answered. The agent must be online.");
        return app;
    }

    /// <summary>A registry host as image references name it: a DNS name or IPv4 address, with an optional port.</summary>
    [GeneratedRegex(@"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?\z", RegexOptions.CultureInvariant)]
    private static partial Regex HostRule();

    private static string? ValidateHost(string host) =>
        HostRule().IsMatch(host) ? null : "must be a registry host as image references name it: a DNS name or IPv4 address with an optional port (ghcr.io, 127.0.0.1:5000; docker.io for Docker Hub), in lower case";

    private static async Task<IResult> SetAsync(string host, SetRegistryRequest request, RegistryCredentialStore store, InstaDeployDbContext db, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        host = ImageReferences.Normalize(host);
        if (ValidateHost(host) is { } badHost) return Problems.Invalid("host", badHost);
        if (string.IsNullOrEmpty(request.Username) || request.Username.Length > 256 || request.Username.Any(char.IsControl) || request.Username.Contains(':'))
            return Problems.Invalid("username", "is required: 1-256 printable characters, no ':'");
        if (string.IsNullOrEmpty(request.Password) || request.Password.Length > MaxPasswordLength || request.Password.Any(char.IsControl))
            return Problems.Invalid("password", $"is required: the password or access token, 1-{MaxPasswordLength} printable characters");
        if (request.AgentId is not null && request.Selector is not null) return Problems.Invalid("selector", "and agent_id exclude each other: name one agent, or select several");
        if (request.Selector is not null && LabelSelector.Parse(request.Selector).Error is { } selectorError) return Problems.Invalid("selector", selectorError);
        if (request.AgentId is not null && !await db.Agents.AnyAsync(a => a.Id == request.AgentId, cancellationToken))
            return Problems.NotFound("Unknown agent", $"No agent '{request.AgentId}' has ever connected, so a login for it would never be used. GET /agents lists the known agents.");
        var entry = await store.SetAsync(host, request.Username, request.Password, request.AgentId, request.Selector, AuditActor.Of(user), cancellationToken);
        return TypedResults.Ok(ToDto(entry));
    }

    public const string CursorList = "registries";
    public const int DefaultLimit = 1000;
    public const int MaxLimit = 1000;

    private static async Task<IResult> ListAsync([FromQuery(Name = "limit")] int? limit, [FromQuery(Name = "cursor")] string? cursor,
        RegistryCredentialStore store, HttpContext context, CancellationToken cancellationToken)
    {
        var (take, after, refusal) = PageCursor.Read(CursorList, 2, limit, cursor, DefaultLimit, MaxLimit);
        if (refusal is not null) return Problems.Invalid(refusal.Field!, refusal.Detail);
        var page = await store.ListPageAsync(take, after, cancellationToken);
        PageCursor.SetNextIfFull(context, page, take, r => PageCursor.Encode(CursorList, r.Host, r.Scope));
        return TypedResults.Ok(page.Select(ToDto).ToArray());
    }

    private static async Task<IResult> DeleteAsync(string host, [FromQuery(Name = "agent_id")] string? agentId, [FromQuery(Name = "selector")] string? selector,
        RegistryCredentialStore store, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        host = ImageReferences.Normalize(host);
        return await store.DeleteAsync(host, agentId, selector, AuditActor.Of(user), cancellationToken)
            ? TypedResults.NoContent()
            : Problems.NotFound("Unknown registry login", $"There is no login for '{host}'{(agentId is not null ? $" for agent '{agentId}'" : selector is not null ? $" for selector '{selector}'" : " for every agent")}. GET /registries lists them.");
    }

    private static async Task<IResult> TestAsync(string host, [FromQuery(Name = "agent_id")] string? agentId, RegistryCredentialStore store, RegistryProtector protector,
        CommandSubmitter submitter, JobOutputFollower output, IDbContextFactory<InstaDeployDbContext> databases, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        host = ImageReferences.Normalize(host);
        if (ValidateHost(host) is { } badHost) return Problems.Invalid("host", badHost);
        if (string.IsNullOrEmpty(agentId)) return Problems.Invalid("agent_id", "is required: the agent that tries the login (GET /agents lists them)");
        var logins = await store.ForAgentAsync(agentId, new HashSet<string> { host }, cancellationToken);
        if (logins.Count == 0)
            return Problems.NotFound("No registry login", $"No login for '{host}' applies to agent '{agentId}'. Set one with PUT /registries/{host}.");
        var submission = await submitter.SubmitAsync(new JobRequest
        {
            Type = CommandTypes.RegistryLogin,
            AgentId = agentId,
            WaitIfOffline = false,
            TimeoutSeconds = (int)TestTimeout.TotalSeconds,
            RequirePluginForType = true,
            Audit = new JobAudit(AuditActor.Of(user), AuditActions.RegistryTest, $"registry:{host} agent:{agentId}", new { host, agent_id = agentId, username = logins[0].Username }),
            Body = (_, _) => ValueTask.FromResult(CommandBody.Of(new RegistryLoginPayload { Host = host }, CommandPayloadJson.RegistryLogin) with
            {
                SecretsProtected = protector.ProtectJobSecrets(null, logins),
                RequiredFeature = (HandshakeHeaders.FeatureRegistryAuth, CommandRefusal.Conflict("The agent cannot use registry logins",
                    $"Agent '{agentId}' does not take registry logins (a seed-protocol agent, or an InstaDeploy agent older than them); upgrade it.")),
            }),
        }, cancellationToken);
        if (submission.Refusal is { } refusal) return refusal.ToResult();
        var job = submission.Job!;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TestTimeout + TimeSpan.FromSeconds(5));
        try
        {
            await output.WaitForEndAsync(job.Id, limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status504GatewayTimeout, title: "The agent did not answer in time",
                detail: $"REGISTRY_LOGIN job {job.Id} did not finish within {TestTimeout.TotalSeconds:0} s; see GET /jobs/{job.Id}.");
        }
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var ended = await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == job.Id, cancellationToken);
        var answer = ended.ResultJson is { } result && JsonDocument.Parse(result).RootElement.TryGetProperty("registry_answer", out var said) && said.ValueKind == JsonValueKind.String
            ? said.GetString()! : ended.Error;
        return TypedResults.Ok(new RegistryTestDto(host, agentId, job.Id, ended.Status == JobStatuses.Completed, answer));
    }

    private static RegistryDto ToDto(RegistryCredentialEntity r) => new(r.Host, r.Username, r.AgentId, r.Selector, r.UpdatedAt, r.UpdatedBy);
}

public static class RegistriesExtensions
{
    public static IServiceCollection AddRegistries(this IServiceCollection services)
    {
        services.AddSingleton<RegistryProtector>();
        services.AddSingleton<RegistryCredentialStore>();
        services.AddSingleton<Jobs.Delivery.ICommandWriter, RegistryLoginCommandWriter>();
        return services;
    }
}
