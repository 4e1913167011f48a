using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Agents;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>
/// GET /deployments/{project}/logs: the project's container logs, read on its agent by a LOGS job (the compose plugin runs
/// <c>docker logs</c> for each of the project's containers). The lines are the job's output, so they are stored with it.
/// </summary>
public static class ContainerLogsApi
{
    public const int DefaultTail = 100;
    public const int MaxTail = 10_000;
    public const int DefaultFollowSeconds = 60;
    public const int MaxFollowSeconds = 3600;

    /// <summary>Most LOGS jobs an agent may have open at once: log streams held open by readers never crowd out deploys
    /// (which count against INSTADEPLOY_MAX_OPEN_JOBS_PER_AGENT too).</summary>
    public const int MaxOpenLogJobsPerAgent = 16;

    /// <summary>How long a LOGS job without follow may take before the request gives up.</summary>
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

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
        HttpContext context, AgentSelector selector, JobDispatcher dispatcher, JobStore jobs, IDbContextFactory<InstaDeployDbContext> databases,
        CancellationToken cancellationToken)
    {
        if (DeploymentsApi.ValidateProject(projectName) is { } invalid) return invalid;
        if (tail is < 0 or > MaxTail) return Problems.Invalid("tail", $"must be between 0 and {MaxTail}");
        if (since is not null && !LogsSince.IsValid(since)) return Problems.Invalid("since", $"'{since}' is not {LogsSince.Description}");
        if (service is not null && !ProjectNames.IsValid(service)) return Problems.Invalid("service", "is not a compose service name (letters, digits, '_' or '-')");
        if (followSeconds is < 1 or > MaxFollowSeconds) return Problems.Invalid("follow_seconds", $"must be between 1 and {MaxFollowSeconds}");

        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
        {
            if (!await db.Deployments.AnyAsync(d => d.ProjectName == projectName && (agentId == null || d.AgentId == agentId), cancellationToken))
                return Problems.NotFound("Unknown project", agentId is null
                    ? $"Project '{projectName}' has never been deployed. GET /deployments lists deployed projects."
                    : $"Project '{projectName}' was never deployed on agent '{agentId}'. GET /deployments/{projectName} shows where it is.");
        }
        var (agent, problem) = await selector.SelectAsync(agentId, projectName, allowOffline: false, cancellationToken);
        if (problem is not null) return problem;
        if (await dispatcher.CheckCapacityAsync(agent!, cancellationToken) is { } full) return full;
        if (await jobs.CountOpenJobsAsync(agent!, cancellationToken, CommandTypes.Logs) is var streams && streams >= MaxOpenLogJobsPerAgent)
            return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many log streams",
                detail: $"Agent '{agent}' already has {streams} container-log reads open (at most {MaxOpenLogJobsPerAgent}); retry when a follow ends, or use a shorter follow_seconds.");

        var following = follow == true;
        var seconds = followSeconds ?? DefaultFollowSeconds;
        var payload = new Dictionary<string, object?>
        {
            ["project_name"] = projectName,
            ["tail"] = tail ?? DefaultTail,
            ["timestamps"] = timestamps == true,
        };
        if (since is not null) payload["since"] = since;
        if (service is not null) payload["service"] = service;
        if (following) payload["follow_seconds"] = seconds;
        var job = await dispatcher.DispatchAsync(agent!, CommandTypes.Logs, projectName, JsonSerializer.SerializeToElement(payload),
            timeoutSeconds: following ? seconds + 30 : (int)ReadTimeout.TotalSeconds, queueTtlSeconds: 30, cancellationToken);
        context.Response.Headers["X-InstaDeploy-Job-Id"] = job.Id;

        if (following) return await JobLogStream.GetAsync(job.Id, true, context, databases, cancellationToken);

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(ReadTimeout + TimeSpan.FromSeconds(5));
        try
        {
            while (true)
            {
                await using var db = await databases.CreateDbContextAsync(limit.Token);
                var state = await db.Jobs.AsNoTracking().Where(j => j.Id == job.Id)
                    .Select(j => new { j.Status, j.Logs, j.Error }).FirstAsync(limit.Token);
                if (state.Status == JobStatuses.Completed) return TypedResults.Text(state.Logs, "text/plain; charset=utf-8");
                if (JobStatuses.IsTerminal(state.Status))
                    return TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: "The agent could not read the logs",
                        detail: $"LOGS job {job.Id} ended {state.Status}: {state.Error}");
                await Task.Delay(TimeSpan.FromMilliseconds(100), limit.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status504GatewayTimeout, title: "The agent did not answer in time",
                detail: $"LOGS job {job.Id} did not finish within {ReadTimeout.TotalSeconds:0} s; follow it at GET /jobs/{job.Id}/logs.");
        }
    }
}
