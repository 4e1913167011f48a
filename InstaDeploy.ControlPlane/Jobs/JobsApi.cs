using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Jobs;

public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/jobs").WithTags("Jobs").RequireAuthorization(ApiKeys.ApiKeyScopes.Read).RequireRateLimiting(Infrastructure.RateLimits.PerKey);

        jobs.MapGet("/", ListJobs)
            .WithName("ListJobs")
            .WithResponseExample(200, new[] { OpenApiExamples.Job })
            .WithSummary("List jobs, newest first")
            .WithDescription("Filter with agent_id, project_name and status (PENDING, SENT, RUNNING, COMPLETED, FAILED, TIMED_OUT, EXPIRED); limit defaults to 100 (max 1000). A full page answers the next one's cursor in X-Next-Cursor and a Link header (rel=\"next\"): pass it as cursor. Each entry is the job without its output and result: read those at GET /jobs/{job_id}.");

        jobs.MapGet("/summary", GetSummary)
            .WithName("GetJobSummary")
            .WithSummary("Count jobs per status, overall and per agent")
            .WithDescription("How many jobs are stored in each status (PENDING, SENT, RUNNING, COMPLETED, FAILED, TIMED_OUT, EXPIRED), in all and per agent; agent_id limits it to one agent. Read from counters kept with every job change, so it costs the same whatever the history holds; jobs removed by retention are no longer counted.");

        jobs.MapGet("/{jobId}", GetJob)
            .WithName("GetJob")
            .WithResponseExample(200, OpenApiExamples.Job)
            .WithSummary("Get one job")
            .WithDescription("The job's type, agent, project, status, logs, error and result, and when it was created and last updated.");

        jobs.MapGet("/{jobId}/logs", Output.JobLogStream.GetAsync)
            .WithName("GetJobLogs")
            .WithSummary("Get or follow a job's output")
            .WithDescription("The job's output so far as text. With follow=true, a Server-Sent Events stream: 'log' events with the lines so far and then each new batch the moment the agent sends it, and an 'end' event with the final status and error. Each 'log' event's id is the number of its last line: reconnect with the header Last-Event-ID to get only the lines after it. Follow it with `curl -N`.")
            .Produces<string>(StatusCodes.Status200OK, "text/plain", "text/event-stream");

        return app;
    }

    private static async Task<Results<Ok<JobSummaryDto[]>, ValidationProblem>> ListJobs(
        JobQueries queries,
        [FromQuery(Name = "agent_id")] string? agentId,
        [FromQuery(Name = "project_name")] string? projectName,
        [FromQuery(Name = "status")] string? status,
        [FromQuery(Name = "limit")] int? limit,
        [FromQuery(Name = "cursor")] string? cursor,
        HttpContext context,
        CancellationToken cancellationToken)
    {
        var (jobs, refusal) = await queries.ListAsync(new JobFilter(agentId, projectName, status, limit, Cursor: cursor), cancellationToken);
        if (refusal is not null) return Problems.Invalid(refusal.Field!, refusal.Detail);
        PageCursor.SetNextIfFull(context, jobs!, limit ?? JobQueries.DefaultLimit, JobQueries.CursorAfter);
        return TypedResults.Ok(jobs);
    }

    private static async Task<Ok<Counts.JobCountsDto>> GetSummary([FromQuery(Name = "agent_id")] string? agentId, Counts.JobCounts counts, CancellationToken cancellationToken) =>
        TypedResults.Ok(await counts.ReadAsync(agentId, cancellationToken));

    private static async Task<Results<Ok<JobDto>, ProblemHttpResult>> GetJob(string jobId, JobQueries queries, Retention.JobRetention retention, CancellationToken cancellationToken) =>
        await queries.GetAsync(jobId, cancellationToken) is { } job
            ? TypedResults.Ok(job)
            : Problems.NotFound(retention.MayHaveRemoved(jobId) ? "Job removed by retention" : "Unknown job", retention.NotFoundDetail(jobId));
}
