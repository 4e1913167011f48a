using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Agents;

public static partial class AgentsApi
{
    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var agents = app.MapGroup("/agents").WithTags("Agents").RequireAuthorization(ApiKeys.ApiKeyScopes.Read).RequireRateLimiting(Infrastructure.RateLimits.PerKey);

        agents.MapGet("/", ListAgents)
            .WithName("ListAgents")
            .WithResponseExample(200, new[] { OpenApiExamples.Agent })
            .WithSummary("List agents")
            .WithDescription("Every agent that has connected at least once, with whether it is online now, when it was last seen and its labels. selector filters by label, Kubernetes-style: role=web, role!=db, region in (eu,us), region notin (ap), gpu, !gpu, joined by commas (all must hold). A malformed selector is a 400 naming the position and what was expected. By id; limit defaults to 1000 (max 1000); a full page answers the next one's cursor in X-Next-Cursor and a Link header (rel=\"next\"): pass it as cursor.");

        agents.MapGet("/{agentId}", GetAgent)
            .WithName("GetAgent")
            .WithResponseExample(200, OpenApiExamples.Agent)
            .WithSummary("Get one agent")
            .WithDescription("An agent's hostname, version, architecture, online state and last_seen.");

        agents.MapPut("/{agentId}/labels", SetLabels)
            .WithName("SetAgentLabels")
            .Audited(Audit.AuditActions.AgentLabelsSet)
            .RequireAuthorization(ApiKeys.ApiKeyScopes.Admin)
            .WithRequestExample(new { labels = new Dictionary<string, string?> { ["role"] = "web", ["canary"] = null } })
            .WithResponseExample(200, OpenApiExamples.Agent)
            .WithSummary("Override an agent's labels")
            .WithDescription("Sets the admin's label overrides for the agent, replacing earlier ones: each value wins over the label of that key the agent announces (AGENT_LABELS), a null value removes an announced label. They stay until changed or deleted, whatever the agent announces later.");

        agents.MapDelete("/{agentId}/labels", ClearLabels)
            .WithName("ClearAgentLabels")
            .Audited(Audit.AuditActions.AgentLabelsClear)
            .RequireAuthorization(ApiKeys.ApiKeyScopes.Admin)
            .WithSummary("Remove an agent's label overrides")
            .WithDescription("Removes the admin's overrides: the agent's labels are again the ones it announces.");

        agents.MapPost("/{agentId}/health", CheckHealth)
            .WithName("CheckAgentHealth")
            .RequireAuthorization(ApiKeys.ApiKeyScopes.Deploy)
            .WithResponseExample(202, OpenApiExamples.Accepted)
            .WithSummary("Run a health check on an agent")
            .WithDescription("Sends HEALTH_CHECK: the agent reports its Docker engine, compose variant, projects folder, free disk, version, uptime and plugins. Follow the job at GET /jobs/{job_id}; its result holds the report.");

        agents.MapPost("/{agentId}/commands", RunCommand)
            .WithName("RunCommand")
            .Audited(Audit.AuditActions.Command)
            .RequireAuthorization(ApiKeys.ApiKeyScopes.Deploy)
            .WithSummary("Run any command type on an agent")
            .WithDescription("Sends {type, payload} to the agent, for command types that plugins add (see the agent's command_types in GET /agents/{agentId}). A type the agent does not have is refused with 400 naming the types it has. A payload's project_name, if present, must be a valid project name and makes the job the project's.")
            .WithRequestExample(new { type = "RESTART_COMPOSE", payload = new { project_name = "test-app" } })
            .WithResponseExample(202, OpenApiExamples.Accepted);

        return app;
    }

    private static async Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> RunCommand(
        string agentId, CommandRequest request, CommandSubmitter submitter, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.Type) || !CommandTypeRule().IsMatch(request.Type))
            return Problems.Invalid("type", "is required: 1-64 upper-case letters, digits or '_', starting with a letter, e.g. RESTART_COMPOSE");
        if (request.Type == CommandTypes.DeployCompose)
            return Problems.BadRequest("Use POST /deploy",
                "DEPLOY_COMPOSE goes through POST /deploy, which checks the compose file and the deploy policy, records the revision and sends the project's variables.");
        var payload = request.Payload ?? EmptyObject;
        if (payload.ValueKind != JsonValueKind.Object)
            return Problems.Invalid("payload", $"must be a JSON object, got {payload.ValueKind}");
        string? projectName = null;
        if (payload.TryGetProperty("project_name", out var project))
        {
            if (project.ValueKind != JsonValueKind.String || !ProjectNames.IsValid(project.GetString()))
                return Problems.Invalid("payload.project_name", $"must be a string matching {ProjectNames.Pattern}");
            projectName = project.GetString();
        }

        return (await submitter.SubmitAsync(new JobRequest
        {
            Type = request.Type,
            AgentId = agentId,
            ProjectName = projectName,
            WaitIfOffline = !request.FailFast,
            TimeoutSeconds = request.TimeoutSeconds,
            QueueTtlSeconds = request.QueueTtlSeconds,
            RequirePluginForType = true,
            Audit = new JobAudit(Audit.AuditActor.Of(user), Audit.AuditActions.Command, projectName is null ? $"agent:{agentId}" : $"project:{projectName}@{agentId}",
                new { type = request.Type, agent_id = agentId, project_name = projectName }), // the payload is a plugin's: it is not copied here
            Body = (_, _) => ValueTask.FromResult(CommandBody.Of(payload, CommandPayloadJson.Any)),
        }, cancellationToken)).ToHttp();
    }

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Z][A-Z0-9_]{0,63}\z", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex CommandTypeRule();

    private static async Task<Results<Ok<AgentDto[]>, ValidationProblem>> ListAgents(
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "selector")] string? selector, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "limit")] int? limit,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "cursor")] string? cursor, AgentQueries queries, HttpContext context, CancellationToken cancellationToken)
    {
        var (agents, refusal) = await queries.ListPageAsync(selector, limit, cursor, cancellationToken);
        if (refusal is not null) return Problems.Invalid(refusal.Field!, refusal.Detail);
        PageCursor.SetNextIfFull(context, agents!, limit ?? AgentQueries.DefaultLimit, AgentQueries.CursorAfter);
        return TypedResults.Ok(agents!);
    }

    private static async Task<Results<Ok<AgentDto>, ValidationProblem, ProblemHttpResult>> SetLabels(
        string agentId, AgentLabelsRequest request, AgentStore store, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (request.Labels is null) return Problems.Invalid("labels", "is required: an object of label overrides, e.g. {\"role\": \"web\", \"canary\": null}");
        if (AgentLabels.Validate(request.Labels) is { } error) return Problems.Invalid("labels", error);
        var agent = await store.SetLabelOverridesAsync(agentId, request.Labels, Audit.AuditActor.Of(user), cancellationToken);
        return agent is null ? UnknownAgent(agentId) : TypedResults.Ok(agent.ToDto());
    }

    private static async Task<Results<Ok<AgentDto>, ProblemHttpResult>> ClearLabels(string agentId, AgentStore store, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var agent = await store.SetLabelOverridesAsync(agentId, null, Audit.AuditActor.Of(user), cancellationToken);
        return agent is null ? UnknownAgent(agentId) : TypedResults.Ok(agent.ToDto());
    }

    private static ProblemHttpResult UnknownAgent(string agentId) =>
        Problems.NotFound("Unknown agent", $"No agent '{agentId}' has ever connected. GET /agents lists the known agents.");

    private static async Task<Results<Ok<AgentDto>, ProblemHttpResult>> GetAgent(string agentId, AgentQueries queries, CancellationToken cancellationToken) =>
        await queries.GetAsync(agentId, cancellationToken) is { } agent ? TypedResults.Ok(agent) : UnknownAgent(agentId);

    private static async Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> CheckHealth(
        string agentId, CommandSubmitter submitter, CancellationToken cancellationToken) =>
        (await submitter.SubmitAsync(AgentCommands.HealthCheck(agentId), cancellationToken)).ToHttp();
}
