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
            .WithDescription("Filter with agent_id, project_name and status (PENDING, SENT, RUNNING, COMPLETED, FAILED, TIMED_OUT, EXPIRED); limit defaults to 100 (max 1000). Each entry is the job without its output and result: read those at GET /jobs/{job_id}.");

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
        CancellationToken cancellationToken)
    {
        if (status is not null && !KnownStatuses.Contains(status))
            return Problems.Invalid("status", $"'{status}' is not a job status; use one of {string.Join(", ", KnownStatuses)}");
        if (limit is < 1 or > 1000)
            return Problems.Invalid("limit", "must be between 1 and 1000");

        var query = db.Jobs.AsNoTracking();
        if (agentId is not null) query = query.Where(j => j.AgentId == agentId);
        if (projectName is not null) query = query.Where(j => j.ProjectName == projectName);
        if (status is not null) query = query.Where(j => j.Status == status);
        // Without the output, payload and result columns: a list's cost must not grow with what each job printed.
        var jobs = await query.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id).Take(limit ?? 100)
            .Select(j => new JobSummaryDto(j.Id, j.Type, j.AgentId, j.ProjectName, j.Status, j.Error, j.CreatedAt, j.UpdatedAt, j.CompletedAt))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(jobs.ToArray());
    }

    private static async Task<Results<Ok<JobDto>, ProblemHttpResult>> GetJob(string jobId, InstaDeployDbContext db, Output.JobOutputFollower output, CancellationToken cancellationToken)
    {
        var job = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (job is null) return Problems.NotFound("Unknown job", $"No job '{jobId}'. GET /jobs lists jobs.");
        // A running job's output is streamed into its own store (and memory) until it ends.
        if (!JobStatuses.IsTerminal(job.Status) && await output.ReadAsync(jobId, cancellationToken) is { } read) job.Logs = read.Text;
        return TypedResults.Ok(job.ToDto());
    }
}
