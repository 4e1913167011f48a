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
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static IEndpointRouteBuilder MapDeploymentsApi(this IEndpointRouteBuilder app)
    {
        var commands = app.MapGroup("").WithTags("Deployments").RequireAuthorization(ApiKeys.ApiKeyScopes.Deploy).RequireRateLimiting(Infrastructure.RateLimits.PerKey);

        commands.MapPost("/deploy", Deploy)
            .WithName("Deploy")
            .WithResponseExample(202, OpenApiExamples.Accepted)
            .WithSummary("Deploy a docker-compose file")
            .WithDescription("Validates the compose file, then sends DEPLOY_COMPOSE to the agent, which writes it to <projects>/<project_name>/docker-compose.yml and runs `docker compose up -d --remove-orphans`. Answers 202 with the job; follow it at GET /jobs/{job_id}.")
            .WithRequestExample(new { project_name = "test-app", compose_file_base64 = "c2VydmljZXM6CiAgd2ViOgogICAgaW1hZ2U6IGxvY2FsL2J1c3lib3g6MQo=", agent_id = "vps-1" })
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxRequestBytes(app)));

        commands.MapPost("/stop", Stop)
            .WithName("Stop")
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
            .WithDescription("Every project on every agent it was deployed to: state (deploying, running, failed, stopping, stopped, stop_failed) and last job.");
        deployments.MapGet("/{projectName}", GetDeployment)
            .WithName("GetDeployment")
            .WithResponseExample(200, new { project_name = "test-app", placements = new[] { OpenApiExamples.Deployment } })
            .WithSummary("Get one project's deployments")
            .WithDescription("Which agents the project is placed on, with each placement's state and last job.");

        return app;
    }

    /// <summary>The compose file of a request: base64 of UTF-8 text within INSTADEPLOY_MAX_COMPOSE_BYTES that the
    /// validator and the deploy policy accept; else the problem to answer.</summary>
    internal static (string? Yaml, ValidationProblem? Invalid, ProblemHttpResult? Problem) ReadCompose(string? composeFileBase64, ControlPlaneOptions options)
    {
        if (string.IsNullOrEmpty(composeFileBase64))
            return (null, Problems.Invalid("compose_file_base64", "is required: the docker-compose.yml, base64 encoded"), null);

        var max = options.MaxComposeBytes;
        if ((long)composeFileBase64.Length * 3 / 4 > max + 3)
            return (null, null, Problems.TooLarge($"The compose file is larger than the limit of {max} bytes (INSTADEPLOY_MAX_COMPOSE_BYTES)."));
        byte[] compose;
        try
        {
            compose = Convert.FromBase64String(composeFileBase64);
        }
        catch (FormatException)
        {
            return (null, Problems.Invalid("compose_file_base64", "is not valid base64; encode the file with `base64 -w0 docker-compose.yml`"), null);
        }
        if (compose.Length > max)
            return (null, null, Problems.TooLarge($"The compose file is {compose.Length} bytes, over the limit of {max} bytes (INSTADEPLOY_MAX_COMPOSE_BYTES)."));

        string yaml;
        try
        {
            yaml = StrictUtf8.GetString(compose);
        }
        catch (DecoderFallbackException)
        {
            return (null, Problems.Invalid("compose_file_base64", "does not decode to UTF-8 text"), null);
        }
        if (ComposeValidator.Validate(yaml) is { } composeError)
            return (null, Problems.Invalid("compose_file_base64", composeError), null);
        if (options.PolicyEnabled && ComposePolicy.Check(yaml, options.PolicyBindAllowList) is { Count: > 0 } violations)
            return (null, Problems.Invalid("compose_file_base64", "the deploy policy refuses it: " + string.Join("; ", violations)), null);

        return (yaml, null, null);
    }

    private static long MaxRequestBytes(IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<ControlPlaneOptions>>().Value;
        return (long)options.MaxComposeBytes * 4 / 3 + 64 * 1024;
    }

    private static async Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> Deploy(
        DeployRequest request, CommandSubmitter submitter, ProjectVariableStore variableStore, VariableProtector protector,
        System.Security.Claims.ClaimsPrincipal user, IOptions<ControlPlaneOptions> options, CancellationToken cancellationToken)
    {
        if (ValidateProject(request.ProjectName) is { } invalidName) return invalidName;
        var (yaml, invalidCompose, composeProblem) = ReadCompose(request.ComposeFileBase64, options.Value);
        if (invalidCompose is not null) return invalidCompose;
        if (composeProblem is not null) return composeProblem;

        if (ValidateHealthWait(request.HealthWaitSeconds) is { } invalidWait) return invalidWait;
        if (ValidateTimeLeftForHealthWait(request.TimeoutSeconds, request.HealthWaitSeconds, request.RollbackOnFailure, options.Value) is { } tooShort) return tooShort;

        var project = request.ProjectName!;
        var healthWait = EffectiveHealthWait(request.HealthWaitSeconds, request.TimeoutSeconds, request.RollbackOnFailure, options.Value);
        // A redeploy goes where the project is, when that is one agent; a new project needs agent_id unless one agent is online.
        var submission = await submitter.SubmitAsync(new JobRequest
        {
            Type = CommandTypes.DeployCompose,
            ProjectName = project,
            AgentId = request.AgentId,
            ChooseByProject = true,
            WaitIfOffline = !request.FailFast,
            TimeoutSeconds = request.TimeoutSeconds,
            QueueTtlSeconds = request.QueueTtlSeconds,
            Body = async (agentId, token) =>
            {
                var variables = await variableStore.ForDeployAsync(project, agentId, token);
                return ProjectCommands.Revision(project, agentId, yaml!, variables.Count == 0 ? null : protector.ProtectSnapshot(variables),
                    variables.Select(v => v.Name), user.Identity?.Name ?? "", rollbackOf: null, request.RollbackOnFailure, healthWait);
            },
        }, cancellationToken);
        return submission.ToHttp();
    }

    private static async Task<Results<Accepted<JobAccepted>, Accepted<FanOutAnswer>, ValidationProblem, ProblemHttpResult>> Stop(
        ProjectRequest request, CommandSubmitter submitter, InstaDeployDbContext db, CancellationToken cancellationToken) =>
        await ProjectCommandAsync(CommandTypes.StopCompose, request, submitter, db, cancellationToken);

    private static async Task<Results<Accepted<JobAccepted>, Accepted<FanOutAnswer>, ValidationProblem, ProblemHttpResult>> Status(
        ProjectRequest request, CommandSubmitter submitter, InstaDeployDbContext db, CancellationToken cancellationToken) =>
        await ProjectCommandAsync(CommandTypes.Status, request, submitter, db, cancellationToken);

    /// <summary>To the agent named (or the one the project is placed on), or with a selector to every selected agent it is placed on.</summary>
    private static async Task<Results<Accepted<JobAccepted>, Accepted<FanOutAnswer>, ValidationProblem, ProblemHttpResult>> ProjectCommandAsync(
        string type, ProjectRequest request, CommandSubmitter submitter, InstaDeployDbContext db, CancellationToken cancellationToken)
    {
        if (ValidateProject(request.ProjectName) is { } invalid) return invalid;
        if (request.Selector is not null) return await ProjectFanOut.SubmitAsync(type, request, submitter, db, cancellationToken);
        var submission = await submitter.SubmitAsync(ProjectCommands.Request(type, request.ProjectName!, request.AgentId,
            request.TimeoutSeconds, request.QueueTtlSeconds, request.FailFast), cancellationToken);
        return submission.Job is { } job ? TypedResults.Accepted($"/jobs/{job.Id}", job.ToAccepted()) : submission.Refusal!.ToHttp().Result switch
        {
            ValidationProblem v => v,
            ProblemHttpResult p => p,
            var other => throw new InvalidOperationException($"unexpected refusal result {other.GetType()}"),
        };
    }

    private static async Task<Ok<DeploymentDto[]>> ListDeployments(InstaDeployDbContext db, CancellationToken cancellationToken)
    {
        var deployments = await db.Deployments.AsNoTracking()
            .OrderBy(d => d.ProjectName).ThenBy(d => d.AgentId).ToListAsync(cancellationToken);
        return TypedResults.Ok(deployments.Select(ToDto).ToArray());
    }

    private static async Task<Results<Ok<ProjectDeploymentsDto>, ProblemHttpResult>> GetDeployment(string projectName, InstaDeployDbContext db, CancellationToken cancellationToken)
    {
        var placements = await db.Deployments.AsNoTracking().Where(d => d.ProjectName == projectName)
            .OrderBy(d => d.AgentId).ToListAsync(cancellationToken);
        return placements.Count == 0
            ? Problems.NotFound("Unknown project", $"Project '{projectName}' has never been deployed. GET /deployments lists deployed projects.")
            : TypedResults.Ok(new ProjectDeploymentsDto(projectName, placements.Select(ToDto).ToArray()));
    }

    private static DeploymentDto ToDto(DeploymentEntity d) => new(d.ProjectName, d.AgentId, d.State, d.LastJobId, d.CreatedAt, d.UpdatedAt, d.CurrentRevision);

    internal static ValidationProblem? ValidateHealthWait(int? seconds) =>
        seconds is < 0 or > DeployPayload.MaxHealthWaitSeconds
            ? Problems.Invalid("health_wait_seconds", $"must be between 0 (no wait) and {DeployPayload.MaxHealthWaitSeconds}")
            : null;

    /// <summary>A health wait named in the request must fit in the job's timeout (twice, with rollback_on_failure), with
    /// 30 s left for compose itself.</summary>
    internal static ValidationProblem? ValidateTimeLeftForHealthWait(int? timeoutSeconds, int? healthWaitSeconds, bool rollbackOnFailure, ControlPlaneOptions options)
    {
        if (healthWaitSeconds is not { } wait) return null;
        var timeout = timeoutSeconds ?? options.JobTimeoutSeconds;
        if (CommandSubmitter.ValidateTimeout(timeout) is not null) return null; // the submission refuses the timeout itself
        var needed = wait * (rollbackOnFailure ? 2 : 1) + 30;
        return timeout >= needed ? null
            : Problems.Invalid("timeout_seconds", $"is {timeout} s, too short for a health wait of {wait} s{(rollbackOnFailure ? " and a rollback's own wait" : "")}: give at least {needed} s, or a shorter health_wait_seconds");
    }

    /// <summary>The health wait when the request names none: 60 s, or less when the job's timeout is short, so the wait
    /// (and a rollback's) always ends before the job's deadline.</summary>
    internal static int EffectiveHealthWait(int? requested, int? timeoutSeconds, bool rollbackOnFailure, ControlPlaneOptions options) =>
        requested ?? Math.Min(DeployPayload.DefaultHealthWaitSeconds, (timeoutSeconds ?? options.JobTimeoutSeconds) / (rollbackOnFailure ? 4 : 2));

    internal static ValidationProblem? ValidateProject(string? projectName) => projectName switch
    {
        null or "" => Problems.Invalid("project_name", "is required"),
        _ when !ProjectNames.IsValid(projectName) => Problems.Invalid("project_name",
            $"'{Printable(projectName)}' is not a valid project name: use 1-64 letters, digits, '_' or '-' ({ProjectNames.Pattern})"),
        _ => null,
    };

    private static string Printable(string value)
    {
        var shown = value.Length > 80 ? value[..80] + "…" : value;
        return new string([.. shown.Select(c => char.IsControl(c) ? '?' : c)]);
    }
}
