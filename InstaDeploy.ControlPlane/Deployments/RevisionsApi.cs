using System.Security.Claims;
using System.Text;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>A project's history of deploys, and going back to an earlier one.</summary>
public static class RevisionsApi
{
    public static IEndpointRouteBuilder MapRevisionsApi(this IEndpointRouteBuilder app)
    {
        var read = app.MapGroup("/deployments/{projectName}").WithTags("Deployments").RequireAuthorization(ApiKeys.ApiKeyScopes.Read).RequireRateLimiting(RateLimits.PerKey);
        read.MapGet("/revisions", List)
            .WithName("ListRevisions")
            .WithResponseExample(200, new[] { Example })
            .WithSummary("List a project's revisions, newest first")
            .WithDescription("Every deploy of the project: revision number, agent, job, compose file hash, variable names, the API key that asked, when, and outcome (pending, succeeded, failed, rolled_back, timed_out, expired). Filter with agent_id; limit defaults to 50 (max 1000); a full page answers the next one's cursor in X-Next-Cursor and a Link header (rel=\"next\"): pass it as cursor.");
        read.MapGet("/revisions/{revision:int}", Get)
            .WithName("GetRevision")
            .WithResponseExample(200, Example)
            .WithSummary("Get one revision, with its compose file")
            .WithDescription("The revision and the compose file it deployed (compose_file_base64). Variable values are never shown.");

        var write = app.MapGroup("/deployments/{projectName}").WithTags("Deployments").RequireAuthorization(ApiKeys.ApiKeyScopes.Deploy).RequireRateLimiting(RateLimits.PerKey);
        write.MapPost("/rollback", Rollback)
            .WithName("Rollback")
            .Audited(Audit.AuditActions.Rollback)
            .WithRequestExample(new { revision = 3 })
            .WithResponseExample(202, OpenApiExamples.Accepted)
            .WithSummary("Roll a project back")
            .WithDescription("Deploys an earlier revision again (its compose file and the variables it was deployed with) as a new revision: the one named, or by default the last successful revision before the one deployed now on that agent. Answers 202 with the job.");
        return app;
    }

    private static readonly object Example = new
    {
        revision = 3, project_name = "test-app", agent_id = "vps-1", job_id = "job-01a21c9719f67f8095d5c2b50c9fd7d3",
        compose_sha256 = "9f2c5b0d0d5e4f1e8c3b7a6d5c4b3a291807f6e5d4c3b2a1f0e9d8c7b6a59483", variables = new[] { "DB_PASSWORD", "LOG_LEVEL" },
        created_by = "ci", created_at = "2026-11-27T10:15:00+00:00", finished_at = "2026-11-27T10:15:09+00:00", outcome = "succeeded",
        rollback_of = (int?)null, rolled_back_to = (int?)null, current = true,
    };

    private static async Task<Results<Ok<RevisionDto[]>, ValidationProblem, ProblemHttpResult>> List(
        string projectName, [FromQuery(Name = "agent_id")] string? agentId, [FromQuery(Name = "limit")] int? limit, [FromQuery(Name = "cursor")] string? cursor,
        DeploymentQueries queries, HttpContext context, CancellationToken cancellationToken)
    {
        var (revisions, refusal) = await queries.ListRevisionsAsync(projectName, agentId, limit, cancellationToken, cursor);
        if (refusal is not null) return Refused<RevisionDto[]>(refusal);
        PageCursor.SetNextIfFull(context, revisions!, limit ?? DeploymentQueries.DefaultRevisionLimit, DeploymentQueries.RevisionCursorAfter);
        return TypedResults.Ok(revisions!);
    }

    private static async Task<Results<Ok<RevisionDto>, ValidationProblem, ProblemHttpResult>> Get(
        string projectName, int revision, DeploymentQueries queries, CancellationToken cancellationToken)
    {
        var (found, refusal) = await queries.GetRevisionAsync(projectName, revision, cancellationToken);
        return refusal is null ? TypedResults.Ok(found!) : Refused<RevisionDto>(refusal);
    }

    private static Results<Ok<T>, ValidationProblem, ProblemHttpResult> Refused<T>(CommandRefusal refusal) => refusal.Kind == RefusalKind.Invalid
        ? Problems.Invalid(refusal.Field!, refusal.Detail)
        : Problems.NotFound(refusal.Title, refusal.Detail);

    private static async Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> Rollback(
        string projectName, RollbackRequest? request, DeployService deploys, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        request ??= new RollbackRequest();
        return (await deploys.RollbackAsync(new RollbackSpec(projectName, request.Revision, request.AgentId, request.TimeoutSeconds,
            request.QueueTtlSeconds, request.FailFast, request.HealthWaitSeconds), Deployer.Of(user), cancellationToken)).ToHttp();
    }
}
