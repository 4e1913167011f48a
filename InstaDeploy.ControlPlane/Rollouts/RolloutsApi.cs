using InstaDeploy.ControlPlane.Deployments;
using System.Security.Claims;
using InstaDeploy.ControlPlane.Data;
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
            .WithDescription("Each rollout's state, strategy and counts (without its target rows). Filter with project_name and state; limit defaults to 50 (max 1000).");
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

    private static async Task<IResult> Create(RolloutRequest request, RolloutPlanner planner, RolloutStore store, RolloutEngine engine, ClaimsPrincipal user,
        ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var (plan, problem) = await planner.PlanAsync(request, Deployer.Of(user), cancellationToken);
        if (problem is not null) return problem.ToResult();
        await store.CreateAsync(plan!.Rollout, plan.Targets, Audit.AuditActor.Of(user), cancellationToken);
        loggers.CreateLogger("InstaDeploy.ControlPlane.Rollouts").RolloutCreated(plan.Rollout.Id, plan.Rollout.ProjectName, plan.Targets.Count, plan.Rollout.MaxParallel);
        engine.Wake(plan.Rollout.Id, plan.Rollout.ProjectName);
        return TypedResults.Created($"/rollouts/{plan.Rollout.Id}", plan.Rollout.ToDto(plan.Targets, withTargets: true));
    }

    private static async Task<IResult> List([FromQuery(Name = "project_name")] string? projectName, [FromQuery(Name = "state")] string? state,
        [FromQuery(Name = "limit")] int? limit, InstaDeployDbContext db, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 1000) return Problems.Invalid("limit", "must be between 1 and 1000");
        var query = db.Rollouts.AsNoTracking();
        if (projectName is not null) query = query.Where(r => r.ProjectName == projectName);
        if (state is not null) query = query.Where(r => r.State == state);
        var rollouts = await query.OrderByDescending(r => r.CreatedAt).Take(limit ?? 50).ToListAsync(cancellationToken);
        var ids = rollouts.Select(r => r.Id).ToList();
        var targets = (await db.RolloutTargets.AsNoTracking().Where(t => ids.Contains(t.RolloutId)).ToListAsync(cancellationToken)).ToLookup(t => t.RolloutId);
        return TypedResults.Ok(rollouts.Select(r => r.ToDto([.. targets[r.Id]], withTargets: false)).ToArray());
    }

    private static async Task<IResult> Get(string rolloutId, RolloutStore store, CancellationToken cancellationToken) =>
        await store.ReadAsync(rolloutId, cancellationToken) is var (rollout, targets) ? TypedResults.Ok(rollout.ToDto(targets, withTargets: true)) : Unknown(rolloutId);

    private static Task<IResult> Pause(string rolloutId, RolloutStore store, RolloutEngine engine, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        SteerAsync(rolloutId, "pause", user, [RolloutStates.Pending, RolloutStates.Running], store, engine, (r, _, _) =>
        {
            (r.State, r.PauseKind, r.Reason) = (RolloutStates.Paused, RolloutPauseKinds.Manual, $"paused by {Who(user)}");
            return null;
        }, cancellationToken);

    private static Task<IResult> Resume(string rolloutId, RolloutStore store, RolloutEngine engine, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        SteerAsync(rolloutId, "resume", user, [RolloutStates.Paused], store, engine, (r, targets, now) =>
        {
            if (r.PauseKind == RolloutPauseKinds.Canary) return $"it waits for the promotion of its canaries: POST /rollouts/{r.Id}/promote";
            if (r.PauseKind == RolloutPauseKinds.Failures) r.FailuresAccepted = targets.Count(t => t.State == RolloutTargetStates.Failed);
            (r.State, r.PauseKind, r.Reason) = (RolloutStates.Running, null, $"resumed by {Who(user)}");
            return null;
        }, cancellationToken);

    private static Task<IResult> Promote(string rolloutId, RolloutStore store, RolloutEngine engine, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        SteerAsync(rolloutId, "promote", user, [RolloutStates.Pending, RolloutStates.Running, RolloutStates.Paused], store, engine, (r, _, _) =>
        {
            if (r.CanaryCount == 0) return "it has no canaries";
            if (r.Promoted) return "its canaries were promoted already";
            r.Promoted = true;
            r.Reason = $"promoted by {Who(user)}";
            if (r.PauseKind == RolloutPauseKinds.Canary) (r.State, r.PauseKind) = (RolloutStates.Running, null);
            return null;
        }, cancellationToken);

    private static Task<IResult> Cancel(string rolloutId, RolloutStore store, RolloutEngine engine, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        SteerAsync(rolloutId, "cancel", user, RolloutStates.Open, store, engine, (r, targets, now) =>
        {
            foreach (var target in targets.Where(t => t.State == RolloutTargetStates.Waiting))
                (target.State, target.FinishedAt, target.Error) = (RolloutTargetStates.Cancelled, now, "not deployed: the rollout was cancelled");
            var running = targets.Count(t => t.State is RolloutTargetStates.Deploying or RolloutTargetStates.RollingBack);
            (r.State, r.PauseKind, r.LeaseOwner) = (RolloutStates.Cancelled, null, null);
            r.Reason = $"cancelled by {Who(user)}" + (running > 0 ? $"; {running} job(s) under way finish on their own and are recorded" : "");
            return null;
        }, cancellationToken);

    /// <summary>Applies a steering change if the rollout is in one of <paramref name="from"/>; <paramref name="change"/>
    /// returns why it cannot apply, or null once applied.</summary>
    private static async Task<IResult> SteerAsync(string rolloutId, string verb, ClaimsPrincipal user, string[] from, RolloutStore store, RolloutEngine engine,
        Func<RolloutEntity, List<RolloutTargetEntity>, DateTimeOffset, string?> change, CancellationToken cancellationToken)
    {
        string? refused = null;
        var changed = await store.ChangeAsync(rolloutId, from, (r, targets, now) =>
        {
            refused = change(r, targets, now);
            if (refused is null && !RolloutStates.IsOpen(r.State)) r.FinishedAt = now;
            return refused is null;
        }, cancellationToken, (Audit.AuditActor.Of(user), Audit.AuditActions.RolloutSteer + verb));
        if (await store.ReadAsync(rolloutId, cancellationToken) is not var (rollout, all)) return Unknown(rolloutId);
        if (changed is null || refused is not null)
            return Problems.Conflict($"Cannot {verb} the rollout", $"Rollout {rolloutId} is {rollout.State}{(refused is null ? "" : "; " + refused)}.");
        engine.Wake(rollout.Id, rollout.ProjectName);
        return TypedResults.Ok(rollout.ToDto(all, withTargets: true));
    }

    private static string Who(ClaimsPrincipal user) => user.Identity?.Name is { Length: > 0 } name ? name : "an API key";

    private static IResult Unknown(string rolloutId) => Problems.NotFound("Unknown rollout", $"No rollout '{rolloutId}'. GET /rollouts lists them.");
}
