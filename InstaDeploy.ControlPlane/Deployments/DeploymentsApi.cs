using System.Text;
using System.Text.Json;
using InstaDeploy.Compose;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Agents;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
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
            .WithDescription("Sends STOP_COMPOSE: the agent runs `docker compose down --remove-orphans` for the project. agent_id may be left out when the project is deployed on exactly one agent.")
            .WithRequestExample(new { project_name = "test-app", agent_id = "vps-1" });

        commands.MapPost("/status", Status)
            .WithName("Status")
            .WithResponseExample(202, OpenApiExamples.Accepted)
            .WithSummary("Get a project's containers")
            .WithDescription("Sends STATUS: the finished job's result lists the project's containers with name, service, state, health and ports.")
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

    private static long MaxRequestBytes(IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<ControlPlaneOptions>>().Value;
        return (long)options.MaxComposeBytes * 4 / 3 + 64 * 1024;
    }

    private static async Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> Deploy(
        DeployRequest request, AgentSelector selector, JobDispatcher dispatcher, ProjectVariableStore variableStore, VariableProtector protector,
        System.Security.Claims.ClaimsPrincipal user, Hub.AgentConnectionRegistry registry, IOptions<ControlPlaneOptions> options, DeployPolicy policy, CancellationToken cancellationToken)
    {
        if (ValidateProject(request.ProjectName) is { } invalidName) return invalidName;
        if (ValidateTimeout(request.TimeoutSeconds) is { } invalidTimeout) return invalidTimeout;
        if (ValidateQueueTtl(request.QueueTtlSeconds) is { } invalidTtl) return invalidTtl;
        if (string.IsNullOrEmpty(request.ComposeFileBase64))
            return Problems.Invalid("compose_file_base64", "is required: the docker-compose.yml, base64 encoded");

        var max = options.Value.MaxComposeBytes;
        if ((long)request.ComposeFileBase64.Length * 3 / 4 > max + 3)
            return Problems.TooLarge($"The compose file is larger than the limit of {max} bytes (INSTADEPLOY_MAX_COMPOSE_BYTES).");
        byte[] compose;
        try
        {
            compose = Convert.FromBase64String(request.ComposeFileBase64);
        }
        catch (FormatException)
        {
            return Problems.Invalid("compose_file_base64", "is not valid base64; encode the file with `base64 -w0 docker-compose.yml`");
        }
        if (compose.Length > max)
            return Problems.TooLarge($"The compose file is {compose.Length} bytes, over the limit of {max} bytes (INSTADEPLOY_MAX_COMPOSE_BYTES).");

        string yaml;
        try
        {
            yaml = StrictUtf8.GetString(compose);
        }
        catch (DecoderFallbackException)
        {
            return Problems.Invalid("compose_file_base64", "does not decode to UTF-8 text");
        }
        if (ComposeValidator.Validate(yaml) is { } composeError)
            return Problems.Invalid("compose_file_base64", composeError);

        if (ValidateHealthWait(request.HealthWaitSeconds) is { } invalidWait) return invalidWait;
        if (ValidateTimeLeftForHealthWait(request.TimeoutSeconds, request.HealthWaitSeconds, request.RollbackOnFailure, options.Value) is { } tooShort) return tooShort;

        // A redeploy goes where the project is, when that is one agent; a new project needs agent_id unless one agent is online.
        var (agentId, problem) = await selector.SelectAsync(request.AgentId, request.ProjectName, !request.FailFast, cancellationToken);
        if (problem is not null) return problem;

        if (await dispatcher.CheckCapacityAsync(agentId!, cancellationToken) is { } full) return full;
        var variables = await variableStore.ForDeployAsync(request.ProjectName!, agentId!, cancellationToken);
        if ((variables.Count > 0 || request.RollbackOnFailure) && registry.TryGet(agentId!, out var connection) && !connection.ProjectConfig)
            return Problems.Conflict("The agent cannot apply this deploy",
                $"Agent '{agentId}' speaks the seed protocol only: it would ignore the project's variables and rollback_on_failure. Deploy to an InstaDeploy agent, or remove the project's variables (GET /deployments/{request.ProjectName}/env) and rollback_on_failure.");
        // After the variables: the policy judges the file as compose will interpolate it with them.
        var decision = policy.Decide(user, agentId!, yaml, variables);
        if (decision.Unenforceable is { } unenforceable) return Problems.Conflict("The agent cannot enforce the deploy policy", unenforceable);
        if (decision.Violations is { } violations) return Problems.Invalid("compose_file_base64", "the deploy policy refuses it: " + violations);
        var job = await DispatchRevisionAsync(dispatcher, agentId!, request.ProjectName!, yaml,
            variables.Count == 0 ? null : protector.ProtectSnapshot(variables), [.. variables.Select(v => v.Name)],
            user.Identity?.Name ?? "", rollbackOf: null, request.RollbackOnFailure,
            EffectiveHealthWait(request.HealthWaitSeconds, request.TimeoutSeconds, request.RollbackOnFailure, options.Value),
            request.TimeoutSeconds, request.QueueTtlSeconds, decision.AgentPolicy, cancellationToken);
        return TypedResults.Accepted($"/jobs/{job.Id}", job.ToAccepted());
    }

    /// <summary>
    /// Sends DEPLOY_COMPOSE for one revision: the compose file, the variables (stored only as <paramref name="variablesProtected"/>;
    /// decrypted into the command as it is written to the agent), the health wait and rollback_on_failure. The revision is
    /// numbered and stored with the job. <paramref name="policy"/>, when the deploy policy applies, tells the agent to enforce it.
    /// </summary>
    internal static Task<JobEntity> DispatchRevisionAsync(
        JobDispatcher dispatcher, string agentId, string projectName, string yaml, string? variablesProtected, string[] variableNames,
        string createdBy, int? rollbackOf, bool rollbackOnFailure, int healthWaitSeconds, int? timeoutSeconds, int? queueTtlSeconds,
        System.Text.Json.Nodes.JsonObject? policy, CancellationToken cancellationToken)
    {
        var compose = Encoding.UTF8.GetBytes(yaml);
        var payload = new System.Text.Json.Nodes.JsonObject
        {
            ["project_name"] = projectName,
            ["compose_file_base64"] = Convert.ToBase64String(compose),
            [DeployPayload.HealthWaitSeconds] = healthWaitSeconds,
            [DeployPayload.RollbackOnFailure] = rollbackOnFailure,
        };
        if (policy is not null) payload[DeployPayload.Policy] = policy;
        // Variables travel encrypted until the command is written; an empty list tells the agent to remove an old .env.
        if (variablesProtected is not null) payload[JobDispatcher.ProtectedEnv] = variablesProtected;
        else payload[DeployPayload.Env] = new System.Text.Json.Nodes.JsonArray();
        var revision = new RevisionEntity
        {
            ProjectName = projectName,
            AgentId = agentId,
            JobId = "",
            ComposeSha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(compose)),
            ComposeYaml = yaml,
            VariablesProtected = variablesProtected,
            VariableNames = string.Join(',', variableNames),
            CreatedBy = createdBy,
            Outcome = RevisionOutcomes.Pending,
            RollbackOf = rollbackOf,
        };
        return dispatcher.DispatchAsync(agentId, CommandTypes.DeployCompose, projectName, JsonSerializer.SerializeToElement(payload),
            timeoutSeconds, queueTtlSeconds, cancellationToken, revision);
    }

    private static Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> Stop(
        ProjectRequest request, AgentSelector selector, JobDispatcher dispatcher, CancellationToken cancellationToken) =>
        SendProjectCommand(CommandTypes.StopCompose, request, selector, dispatcher, cancellationToken);

    private static Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> Status(
        ProjectRequest request, AgentSelector selector, JobDispatcher dispatcher, CancellationToken cancellationToken) =>
        SendProjectCommand(CommandTypes.Status, request, selector, dispatcher, cancellationToken);

    private static async Task<Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult>> SendProjectCommand(
        string type, ProjectRequest request, AgentSelector selector, JobDispatcher dispatcher, CancellationToken cancellationToken)
    {
        if (ValidateProject(request.ProjectName) is { } invalidName) return invalidName;
        if (ValidateTimeout(request.TimeoutSeconds) is { } invalidTimeout) return invalidTimeout;
        if (ValidateQueueTtl(request.QueueTtlSeconds) is { } invalidTtl) return invalidTtl;

        var (agentId, problem) = await selector.SelectAsync(request.AgentId, request.ProjectName, !request.FailFast, cancellationToken);
        if (problem is not null) return problem;

        if (await dispatcher.CheckCapacityAsync(agentId!, cancellationToken) is { } full) return full;
        var payload = JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["project_name"] = request.ProjectName! });
        var job = await dispatcher.DispatchAsync(agentId!, type, request.ProjectName, payload, request.TimeoutSeconds, request.QueueTtlSeconds, cancellationToken);
        return TypedResults.Accepted($"/jobs/{job.Id}", job.ToAccepted());
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

    internal static ValidationProblem? ValidateTimeout(int? timeoutSeconds) =>
        timeoutSeconds is < 1 or > 86_400 ? Problems.Invalid("timeout_seconds", "must be between 1 and 86400") : null;

    internal static ValidationProblem? ValidateQueueTtl(int? queueTtlSeconds) =>
        queueTtlSeconds is < 1 or > 30 * 86_400 ? Problems.Invalid("queue_ttl_seconds", "must be between 1 and 2592000 (30 days)") : null;

    private static string Printable(string value)
    {
        var shown = value.Length > 80 ? value[..80] + "…" : value;
        return new string([.. shown.Select(c => char.IsControl(c) ? '?' : c)]);
    }
}
