using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs.Output;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>
/// GET /deployments/{project}/logs: the project's container logs, read on its agent by a LOGS job (the compose plugin runs
/// <c>docker logs</c> for each of the project's containers). The lines are the job's output, so they are stored with it.
/// </summary>
public static class ContainerLogsApi
{
    public const int DefaultFollowSeconds = 60;

    public static IEndpointRouteBuilder MapContainerLogsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/deployments/{projectName}/logs", GetAsync)
            .WithTags("Deployments")
            .RequireAuthorization(ApiKeys.ApiKeyScopes.Read)
            .RequireRateLimiting(RateLimits.PerKey)
            .WithName("GetContainerLogs")
            .WithSummary("Get or follow a project's container logs")
            .WithDescription("Reads the logs of the project's containers on its agent (agent_id, required when it is deployed on several): the last `tail` lines (default 100, max 10000) of each, optionally only those newer than `since` (30s, 10m, 1h30m, a Unix time or an RFC 3339 time), of one `service`, with `timestamps`. Lines are prefixed with the container name. Answers text; with follow=true a Server-Sent Events stream ('log' events as lines are printed, then 'end') that lasts follow_seconds (default 60, max 3600). The agent must be online. The response header X-InstaDeploy-Job-Id names the LOGS job.")
            .Produces<string>(StatusCodes.Status200OK, "text/plain", "text/event-stream");
        return app;
    }

    private static async Task<IResult> GetAsync(
        string projectName,
        [FromQuery(Name = "agent_id")] string? agentId,
        [FromQuery(Name = "tail")] int? tail,
        [FromQuery(Name = "since")] string? since,
        [FromQuery(Name = "service")] string? service,
        [FromQuery(Name = "timestamps")] bool? timestamps,
        [FromQuery(Name = "follow")] bool? follow,
        [FromQuery(Name = "follow_seconds")] int? followSeconds,
        HttpContext context, CommandSubmitter submitter, JobOutputFollower output, StreamLimits streams, IDbContextFactory<InstaDeployDbContext> databases,
        CancellationToken cancellationToken)
    {
        var following = follow == true;
        var seconds = followSeconds ?? DefaultFollowSeconds;
        var query = new ContainerLogsQuery(tail, since, service, timestamps == true, followSeconds);
        if (ContainerLogs.Validate(projectName, query) is { } invalid) return invalid.ToResult();
        query = query with { FollowSeconds = following ? seconds : null };

        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
        {
            if (!await db.Deployments.AnyAsync(d => d.ProjectName == projectName && (agentId == null || d.AgentId == agentId), cancellationToken))
                return Problems.NotFound("Unknown project", agentId is null
                    ? $"Project '{projectName}' has never been deployed. GET /deployments lists deployed projects."
                    : $"Project '{projectName}' was never deployed on agent '{agentId}'. GET /deployments/{projectName} shows where it is.");
        }

        // A follow takes its stream's place before its LOGS job exists, so a refused follow leaves no job behind.
        var lease = (IDisposable?)null;
        if (following && !streams.TryAcquire(context, out lease, out var tooMany)) return tooMany;
        using var held = lease;
        var submission = await submitter.SubmitAsync(ContainerLogs.Request(projectName, agentId, query), cancellationToken);
        if (submission.Refusal is { } refusal) return refusal.ToResult();
        var job = submission.Job!;
        context.Response.Headers["X-InstaDeploy-Job-Id"] = job.Id;

        if (following) return await JobLogStream.StreamAsync(job.Id, 0, context, output, TimeSpan.FromSeconds(seconds + 35), cancellationToken);

        // Without follow: the job's output once it has ended, from memory as it arrives, not by polling.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(ContainerLogs.ReadTimeout + TimeSpan.FromSeconds(5));
        EndEvent end;
        try
        {
            end = await output.WaitForEndAsync(job.Id, limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status504GatewayTimeout, title: "The agent did not answer in time",
                detail: $"LOGS job {job.Id} did not finish within {ContainerLogs.ReadTimeout.TotalSeconds:0} s; follow it at GET /jobs/{job.Id}/logs.");
        }
        if (end.Status == JobStatuses.Completed && await output.ReadAsync(job.Id, cancellationToken) is { } read)
            return TypedResults.Text(read.Text, "text/plain; charset=utf-8");
        return TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: "The agent could not read the logs",
            detail: $"LOGS job {job.Id} ended {end.Status}: {end.Error}");
    }
}
