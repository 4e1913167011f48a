using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Jobs;

public static class JobsApi
{
    private static readonly string[] KnownStatuses =
        [JobStatuses.Pending, JobStatuses.Sent, JobStatuses.Running, JobStatuses.Completed, JobStatuses.Failed, JobStatuses.TimedOut, JobStatuses.Expired];

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/jobs").WithTags("Jobs").RequireAuthorization(ApiKeys.ApiKeyScopes.Read).RequireRateLimiting(Infrastructure.RateLimits.PerKey);

        jobs.MapGet("/", ListJobs)
            .WithName("ListJobs")
            .WithResponseExample(200, new[] { OpenApiExamples.Job })
            .WithSummary("List jobs, newest first")
            .WithDescription("Filter with agent_id, project_name and status (PENDING, SENT, RUNNING, COMPLETED, FAILED, TIMED_OUT, EXPIRED); limit defaults to 100 (max 1000). A full page answers the next one's cursor in X-Next-Cursor and a Link header (rel=\"next\"): pass it as cursor. Each entry is the job without its output and result: read those at GET /jobs/{job_id}.");

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
        InstaDeployDbContext db,
        [FromQuery(Name = "agent_id")] string? agentId,
        [FromQuery(Name = "project_name")] string? projectName,
        [FromQuery(Name = "status")] string? status,
        [FromQuery(Name = "limit")] int? limit,
        [FromQuery(Name = "cursor")] string? cursor,
        HttpContext context,
        CancellationToken cancellationToken)
    {
        if (status is not null && !KnownStatuses.Contains(status))
            return Problems.Invalid("status", $"'{status}' is not a job status; use one of {string.Join(", ", KnownStatuses)}");
        if (limit is < 1 or > 1000)
            return Problems.Invalid("limit", "must be between 1 and 1000");
        DateTimeOffset afterAt = default;
        var afterId = "";
        if (cursor is not null && !PageCursor.TryDecode(cursor, out afterAt, out afterId))
            return Problems.Invalid("cursor", "is not a cursor this list gave; pass the X-Next-Cursor value of the previous page as it was, or leave it out for the first page");

        var query = db.Jobs.AsNoTracking();
        if (agentId is not null) query = query.Where(j => j.AgentId == agentId);
        if (projectName is not null) query = query.Where(j => j.ProjectName == projectName);
        if (status is not null) query = query.Where(j => j.Status == status);
        if (cursor is not null) query = query.Where(j => j.CreatedAt < afterAt || (j.CreatedAt == afterAt && string.Compare(j.Id, afterId) < 0));
        // Without the output, payload and result columns: a list's cost must not grow with what each job printed.
        var take = limit ?? 100;
        var jobs = await query.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id).Take(take)
            .Select(j => new JobSummaryDto(j.Id, j.Type, j.AgentId, j.ProjectName, j.Status, j.Error, j.CreatedAt, j.UpdatedAt, j.CompletedAt))
            .ToListAsync(cancellationToken);
        if (jobs.Count == take) PageCursor.SetNext(context, PageCursor.Encode(jobs[^1].CreatedAt, jobs[^1].JobId));
        return TypedResults.Ok(jobs.ToArray());
    }

    private static async Task<Results<Ok<JobDto>, ProblemHttpResult>> GetJob(string jobId, InstaDeployDbContext db, Output.JobOutputFollower output,
        Retention.JobRetention retention, CancellationToken cancellationToken)
    {
        var job = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (job is null) return Problems.NotFound(retention.MayHaveRemoved(jobId) ? "Job removed by retention" : "Unknown job", retention.NotFoundDetail(jobId));
        // A running job's output is streamed into its own store (and memory) until it ends.
        if (!JobStatuses.IsTerminal(job.Status) && await output.ReadAsync(jobId, cancellationToken) is { } read) job.Logs = read.Text;
        return TypedResults.Ok(job.ToDto());
    }
}
