using System.Security.Claims;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Deployments;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>Rollouts over REST: create, watch, steer.</summary>
public static class RolloutsApi
{
    public static IEndpointRouteBuilder MapRolloutsApi(this IEndpointRouteBuilder app)
    {
        var read = app.MapGroup("/rollouts").WithTags("Rollouts").RequireAuthorization(ApiKeys.ApiKeyScopes.Read).RequireRateLimiting(RateLimits.PerKey);
        read.MapGet("/", List)
            .WithName("ListRollouts")
            .Produces<RolloutDto[]>()
            .WithSummary("List rollouts, newest first")
            .WithDescription("Each rollout's state, strategy and counts (without its target rows). Filter with project_name and state; limit defaults to 50 (max 1000); a full page answers the next one's cursor in X-Next-Cursor and a Link header (rel=\"next\"): pass it as cursor.");
        read.MapGet("/{rolloutId}", Get)
            .WithName("GetRollout")
            .Produces<RolloutDto>()
            .WithSummary("Get a rollout with a row per target")
            .WithDescription("State (pending, running, paused, rolling_back, succeeded, failed, rolled_back, cancelled), why, counts, and per target: agent, batch, state, job, revision, the revision it ran before, error and times.");
        read.MapGet("/{rolloutId}/events", RolloutEventStream.GetAsync)
            .WithName("FollowRollout")
            .Produces(200, contentType: "text/event-stream")
            .WithSummary("Follow a rollout's changes (Server-Sent Events)")
            .WithDescription("Every change as it happens: 'rollout' events (state, reason, counts) and 'target' events (one target's row), numbered by id from 1; reconnect with Last-Event-ID to get what came after. An 'end' event closes the stream once the rollout is finished.");

        var write = app.MapGroup("/rollouts").WithTags("Rollouts").RequireAuthorization(ApiKeys.ApiKeyScopes.Deploy).RequireRateLimiting(RateLimits.PerKey);
        write.MapPost("/", Create)
            .WithName("CreateRollout")
            .Audited(Audit.AuditActions.RolloutCreate)
            .Produces<RolloutDto>(201)
            .WithSummary("Deploy a project to many agents")
            .WithDescription("Targets are a selector or a list of agent ids. Each target is an ordinary deploy job with its own revision (live output, history, variables, health gate), started max_parallel at a time, canaries first. Answers 201 with the rollout and Location: /rollouts/{rollout_id}.")
            .WithRequestExample(new
            {
                project_name = "web", compose_file_base64 = "c2VydmljZXM6CiAgd2ViOgogICAgaW1hZ2U6IGxvY2FsL2J1c3lib3g6MQo=",
                targets = new { selector = "role=web,region in (eu,us)" },
                strategy = new { max_parallel = "25%", canary = new { count = 1, auto_promote = false }, batch_wait_seconds = 10, health_wait_seconds = 30, max_failures = 1, on_failure = "rollback", offline = "wait" },
            })
            .WithMetadata(new RequestSizeLimitAttribute(MaxRequestBytes(app)));
        foreach (var (verb, handler, summary) in new (string, Delegate, string)[]
        {
            ("pause", Pause, "Pause a rollout: no new target starts; those deploying finish"),
            ("resume", Resume, "Resume a paused rollout (after failures, the failures so far are accepted)"),
            ("promote", Promote, "Promote the canaries: the other targets go on"),
            ("cancel", Cancel, "Cancel a rollout: no new target starts; those deploying finish and are recorded"),
        })
        {
            write.MapPost("/{rolloutId}/" + verb, handler).Audited(Audit.AuditActions.RolloutSteer + verb).WithName(char.ToUpperInvariant(verb[0]) + verb[1..] + "Rollout").Produces<RolloutDto>().WithSummary(summary);
        }
        return app;
    }

    private static long MaxRequestBytes(IEndpointRouteBuilder app) =>
        (long)app.ServiceProvider.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.MaxComposeBytes * 4 / 3 + 1024 * 1024;

    private static async Task<IResult> Create(RolloutRequest request, RolloutSteering rollouts, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var (rollout, refusal) = await rollouts.StartAsync(request, Deployer.Of(user), Audit.AuditActor.Of(user), cancellationToken);
        return refusal is not null ? refusal.ToResult() : TypedResults.Created($"/rollouts/{rollout!.RolloutId}", rollout);
    }

    private static async Task<IResult> List([FromQuery(Name = "project_name")] string? projectName, [FromQuery(Name = "state")] string? state,
        [FromQuery(Name = "limit")] int? limit, [FromQuery(Name = "cursor")] string? cursor, RolloutSteering rollouts, HttpContext context, CancellationToken cancellationToken)
    {
        var (list, refusal) = await rollouts.ListAsync(projectName, state, limit, cancellationToken, cursor);
        if (refusal is not null) return refusal.ToResult();
        PageCursor.SetNextIfFull(context, list!, limit ?? RolloutSteering.DefaultLimit, RolloutSteering.CursorAfter);
        return TypedResults.Ok(list);
    }

    private static async Task<IResult> Get(string rolloutId, RolloutSteering rollouts, CancellationToken cancellationToken) =>
        await rollouts.GetAsync(rolloutId, cancellationToken) is { } rollout ? TypedResults.Ok(rollout) : RolloutSteering.Unknown(rolloutId).ToResult();

    private static async Task<IResult> Pause(string rolloutId, RolloutSteering rollouts, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        Answer(await rollouts.PauseAsync(rolloutId, Audit.AuditActor.Of(user), cancellationToken));

    private static async Task<IResult> Resume(string rolloutId, RolloutSteering rollouts, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        Answer(await rollouts.ResumeAsync(rolloutId, Audit.AuditActor.Of(user), cancellationToken));

    private static async Task<IResult> Promote(string rolloutId, RolloutSteering rollouts, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        Answer(await rollouts.PromoteAsync(rolloutId, Audit.AuditActor.Of(user), cancellationToken));

    private static async Task<IResult> Cancel(string rolloutId, RolloutSteering rollouts, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        Answer(await rollouts.CancelAsync(rolloutId, Audit.AuditActor.Of(user), cancellationToken));

    private static IResult Answer((RolloutDto? Rollout, Jobs.Submission.CommandRefusal? Refusal) steered) =>
        steered.Refusal is not null ? steered.Refusal.ToResult() : TypedResults.Ok(steered.Rollout);

    /// <summary>Who steered, as the rollout's reason names them.</summary>
    public static string Who(ClaimsPrincipal user) => user.Identity?.Name is { Length: > 0 } name ? name : "an API key";
}
