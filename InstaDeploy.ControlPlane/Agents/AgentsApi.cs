using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Agents;

public static class AgentsApi
{
    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var agents = app.MapGroup("/agents").WithTags("Agents");

        agents.MapGet("/", ListAgents)
            .WithName("ListAgents")
            .WithResponseExample(200, new[] { OpenApiExamples.Agent })
            .WithSummary("List agents")
            .WithDescription("Every agent that has connected at least once, with whether it is online now and when it was last seen.");

        agents.MapGet("/{agentId}", GetAgent)
            .WithName("GetAgent")
            .WithResponseExample(200, OpenApiExamples.Agent)
            .WithSummary("Get one agent")
            .WithDescription("An agent's hostname, version, architecture, online state and last_seen.");

        agents.MapPost("/{agentId}/health", CheckHealth)
            .WithName("CheckAgentHealth")
            .WithResponseExample(202, OpenApiExamples.Accepted)
            .WithSummary("Run a health check on an agent")
            .WithDescription("Sends HEALTH_CHECK: the agent reports its Docker engine, compose variant, projects folder, free disk, version, uptime and plugins. Follow the job at GET /jobs/{job_id}; its result holds the report.");

        return app;
    }

    private static async Task<Ok<AgentDto[]>> ListAgents(InstaDeployDbContext db, CancellationToken cancellationToken)
    {
        var agents = await db.Agents.AsNoTracking().OrderBy(a => a.Id).ToListAsync(cancellationToken);
        return TypedResults.Ok(agents.Select(a => a.ToDto()).ToArray());
    }

    private static async Task<Results<Ok<AgentDto>, ProblemHttpResult>> GetAgent(string agentId, InstaDeployDbContext db, CancellationToken cancellationToken)
    {
        var agent = await db.Agents.AsNoTracking().FirstOrDefaultAsync(a => a.Id == agentId, cancellationToken);
        return agent is null
            ? Infrastructure.Problems.NotFound("Unknown agent", $"No agent '{agentId}' has ever connected. GET /agents lists the known agents.")
            : TypedResults.Ok(agent.ToDto());
    }

    private static async Task<Results<Accepted<JobAccepted>, ProblemHttpResult>> CheckHealth(
        string agentId, AgentSelector selector, JobDispatcher dispatcher, CancellationToken cancellationToken)
    {
        if (await selector.RequireOnlineAsync(agentId, cancellationToken) is { } problem) return problem;
        using var empty = JsonDocument.Parse("{}");
        var job = await dispatcher.DispatchAsync(agentId, CommandTypes.HealthCheck, null, empty.RootElement, null, cancellationToken);
        return TypedResults.Accepted($"/jobs/{job.Id}", job.ToAccepted());
    }
}
