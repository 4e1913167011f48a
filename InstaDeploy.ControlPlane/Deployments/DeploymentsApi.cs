using System.Text;
using System.Text.Json;
using InstaDeploy.Compose;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Deployments;

public static class DeploymentsApi
{
    public static IEndpointRouteBuilder MapDeploymentsApi(this IEndpointRouteBuilder app)
    {
        var commands = app.MapGroup("").WithTags("Deployments").RequireAuthorization(ApiKeys.ApiKeyScopes.Deploy).RequireRateLimiting(Infrastructure.RateLimits.PerKey);

        commands.MapPost("/deploy", Deploy)
            .WithName("Deploy")
            .Audited(Audit.AuditActions.Deploy)
            .WithResponseExample(202, OpenApiExamples.Accepted)
            .WithSummary("Deploy a docker-compose file")
            .WithDescription("Validates the compose file, then sends DEPLOY_COMPOSE to the agent, which writes it to <projects>/<project_name>/docker-compose.yml and runs `docker compose up -d --remove-orphans`. Answers 202 with the job; follow it at GET /jobs/{job_id}.")
            .WithRequestExample(new { project_name = "test-app", compose_file_base64 = "c2VydmljZXM6CiAgd2ViOgogICAgaW1hZ2U6IGxvY2FsL2J1c3lib3g6MQo=", agent_id = "vps-1" })
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxRequestBytes(app)));

        commands.MapPost("/stop", Stop)
            .WithName("Stop")
            .Audited(Audit.AuditActions.Stop)
            .WithResponseExample(202, OpenApiExamples.Accepted)
            .WithSummary("Stop a deployed project")
            .WithDescription("Sends STOP_COMPOSE: the agent runs `docker compose down --remove-orphans` for the project. agent_id may be left out when the project is deployed on exactly one agent. With selector instead (role=web,region in (eu,us)), it goes to every selected agent the project is placed on, and answers 202 with {jobs, refused}.")
            .WithRequestExample(new { project_name = "test-app", agent_id = "vps-1" });

        commands.MapPost("/status", Status)
            .WithName("Status")
            .WithResponseExample(202, OpenApiExamples.Accepted)
            .WithSummary("Get a project's containers")
            .WithDescription("Sends STATUS: the finished job's result lists the project's containers with name, service, state, health and ports. With selector instead of agent_id, it goes to every selected agent the project is placed on, and answers 202 with {jobs, refused}.")
            .WithRequestExample(new { project_name = "test-app" });

        var deployments = app.MapGroup("/deployments").WithTags("Deployments").RequireAuthorization(ApiKeys.ApiKeyScopes.Read).RequireRateLimiting(Infrastructure.RateLimits.PerKey);
        deployments.MapGet("/", ListDeployments)
            .WithName("ListDeployments")
            .WithResponseExample(200, new[] { OpenApiExamples.Deployment })
            .WithSummary("List deployments")
            .WithDescription("Every project on every agent it was deployed to: state (deploying, running, failed, stopping, stopped, stop_failed) and last job. By project then agent; filter with agent_id; limit defaults to 1000 (max 1000); a full page answers the next one's cursor in X-Next-Cursor and a Link header (rel=\"next\"): pass it as cursor.");
        deployments.MapGet("/{projectName}", GetDeployment)
            .WithName("GetDeployment")
            .WithResponseExample(200, new { project_name = "test-app", placements = new[] { OpenApiExamples.Deployment } })
            .WithSummary("Get one project's deployments")
            .WithDescription("Which agents the project is placed on, with each placement's state and last job.");

        return app;
    }

    private static long MaxRequestBytes(IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<ControlPlaneOptions>>().Value;
        return (long)options.MaxComposeBytes * 4 / 3 + 64 * 1024;
    }

    private static async Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> Deploy(
        DeployRequest request, DeployService deploys, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken) =>
        (await deploys.DeployAsync(new DeploySpec(request.ProjectName, request.ComposeFileBase64, request.AgentId, request.TimeoutSeconds,
            request.QueueTtlSeconds, request.FailFast, request.HealthWaitSeconds, request.RollbackOnFailure, request.Pull), Deployer.Of(user), cancellationToken)).ToHttp();

    private static async Task<Results<Accepted<JobAccepted>, Accepted<FanOutAnswer>, ValidationProblem, ProblemHttpResult>> Stop(
        ProjectRequest request, CommandSubmitter submitter, InstaDeployDbContext db, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken) =>
        await ProjectCommandAsync(CommandTypes.StopCompose, request, submitter, db, cancellationToken, Audit.AuditActor.Of(user));

    private static async Task<Results<Accepted<JobAccepted>, Accepted<FanOutAnswer>, ValidationProblem, ProblemHttpResult>> Status(
        ProjectRequest request, CommandSubmitter submitter, InstaDeployDbContext db, CancellationToken cancellationToken) =>
        await ProjectCommandAsync(CommandTypes.Status, request, submitter, db, cancellationToken);

    /// <summary>To the agent named (or the one the project is placed on), or with a selector to every selected agent it is placed on.</summary>
    private static async Task<Results<Accepted<JobAccepted>, Accepted<FanOutAnswer>, ValidationProblem, ProblemHttpResult>> ProjectCommandAsync(
        string type, ProjectRequest request, CommandSubmitter submitter, InstaDeployDbContext db, CancellationToken cancellationToken, Audit.AuditActor? actor = null)
    {
        if (ValidateProject(request.ProjectName) is { } invalid) return invalid;
        if (request.Selector is not null) return await ProjectFanOut.SubmitAsync(type, request, submitter, db, cancellationToken, actor);
        var submission = await submitter.SubmitAsync(ProjectCommands.Request(type, request.ProjectName!, request.AgentId,
            request.TimeoutSeconds, request.QueueTtlSeconds, request.FailFast, actor), cancellationToken);
        return submission.Job is { } job ? TypedResults.Accepted($"/jobs/{job.Id}", job.ToAccepted()) : submission.Refusal!.ToHttp().Result switch
        {
            ValidationProblem v => v,
            ProblemHttpResult p => p,
            var other => throw new InvalidOperationException($"unexpected refusal result {other.GetType()}"),
        };
    }

    private static async Task<Results<Ok<DeploymentDto[]>, ValidationProblem>> ListDeployments(
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "agent_id")] string? agentId, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "limit")] int? limit,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "cursor")] string? cursor, DeploymentQueries queries, HttpContext context, CancellationToken cancellationToken)
    {
        var (deployments, refusal) = await queries.ListPageAsync(agentId, limit, cursor, cancellationToken);
        if (refusal is not null) return Problems.Invalid(refusal.Field!, refusal.Detail);
        PageCursor.SetNextIfFull(context, deployments!, limit ?? DeploymentQueries.DefaultLimit, DeploymentQueries.CursorAfter);
        return TypedResults.Ok(deployments!);
    }

    private static async Task<Results<Ok<ProjectDeploymentsDto>, ProblemHttpResult>> GetDeployment(string projectName, DeploymentQueries queries, CancellationToken cancellationToken) =>
        await queries.GetProjectAsync(projectName, cancellationToken) is { } project
            ? TypedResults.Ok(project)
            : Problems.NotFound("Unknown project", $"Project '{projectName}' has never been deployed. GET /deployments lists deployed projects.");

    internal static ValidationProblem? ValidateProject(string? projectName) =>
        DeployService.ValidateProject(projectName) is { } refusal ? Problems.Invalid(refusal.Field!, refusal.Detail) : null;
}
