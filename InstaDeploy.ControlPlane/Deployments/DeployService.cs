using System.Security.Claims;
using System.Text;
using InstaDeploy.Compose;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>What to deploy, however it was asked for (REST, the console, a rollout's target).</summary>
/// <param name="ProjectName">The project.</param>
/// <param name="ComposeFileBase64">The compose file, base64 encoded.</param>
/// <param name="AgentId">The agent; with none, the project's only placement, or the only online agent.</param>
/// <param name="TimeoutSeconds">The job's deadline once sent.</param>
/// <param name="QueueTtlSeconds">How long it may wait for an offline agent.</param>
/// <param name="FailFast">Refuse instead of waiting for an offline agent.</param>
/// <param name="HealthWaitSeconds">How long the agent waits for the containers to be running and healthy.</param>
/// <param name="RollbackOnFailure">Whether a failed deploy restores the last successful revision.</param>
/// <param name="Pull">Whether the agent pulls the images before <c>up</c> (a new image behind the same tag).</param>
public sealed record DeploySpec(
    string? ProjectName, string? ComposeFileBase64, string? AgentId = null, int? TimeoutSeconds = null, int? QueueTtlSeconds = null,
    bool FailFast = false, int? HealthWaitSeconds = null, bool RollbackOnFailure = false, bool Pull = false);

/// <summary>Who asks for a deploy: the name recorded on its revision, whether the deploy policy holds them
/// regardless of the control plane's setting (a deploy key without host access), and who the audit log names.</summary>
/// <param name="Name">The API key's name (or a rollout's creator).</param>
/// <param name="Restricted">Whether the key has no host access.</param>
/// <param name="Actor">Whom the audit log records; null for a deploy the control plane makes as part of something
/// recorded already (a rollout's targets).</param>
public sealed record Deployer(string Name, bool Restricted, Audit.AuditActor? Actor = null)
{
    /// <summary>The caller of a REST request or console page.</summary>
    public static Deployer Of(ClaimsPrincipal user) => new(user.Identity?.Name ?? "", ApiKeys.ApiKeyScopes.IsRestricted(user), Audit.AuditActor.Of(user));
}

/// <summary>Which revision to deploy again, and how.</summary>
public sealed record RollbackSpec(
    string ProjectName, int? Revision = null, string? AgentId = null, int? TimeoutSeconds = null, int? QueueTtlSeconds = null,
    bool FailFast = false, int? HealthWaitSeconds = null);

/// <summary>
/// The one way a deploy or a rollback is asked for: checks the compose file (size, encoding, shape), the health wait,
/// and, once the agent is chosen, the project's variables for it and the deploy policy; then submits the revision's
/// DEPLOY_COMPOSE through <see cref="CommandSubmitter"/>. Every REST endpoint, console page and rollout uses it.
/// </summary>
public sealed class DeployService(
    CommandSubmitter submitter,
    ProjectVariableStore variables,
    VariableProtector protector,
    DeployPolicy policy,
    IDbContextFactory<InstaDeployDbContext> databases,
    Registries.RegistryCredentialStore registries,
    Audit.AuditLog audit,
    IOptions<ControlPlaneOptions> options)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public async Task<Submission> DeployAsync(DeploySpec spec, Deployer deployer, CancellationToken cancellationToken)
    {
        var submission = await SubmitDeployAsync(spec, deployer, cancellationToken);
        if (deployer.Actor is { } actor)
            await audit.RecordSubmissionAsync(actor, Audit.AuditActions.Deploy, $"project:{spec.ProjectName}", submission, new
            {
                project_name = spec.ProjectName, agent_id = spec.AgentId, compose_sha256 = Sha256OfBase64(spec.ComposeFileBase64),
                spec.HealthWaitSeconds, spec.RollbackOnFailure, spec.TimeoutSeconds, spec.Pull, spec.FailFast,
            });
        return submission;
    }

    private static string? Sha256OfBase64(string? base64)
    {
        try
        {
            return base64 is null ? null : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Convert.FromBase64String(base64)));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private async Task<Submission> SubmitDeployAsync(DeploySpec spec, Deployer deployer, CancellationToken cancellationToken)
    {
        if (ValidateProject(spec.ProjectName) is { } invalidName) return invalidName;
        var (yaml, unreadable) = ReadComposeFile(spec.ComposeFileBase64);
        if (unreadable is not null) return unreadable;
        if (ValidateHealthWait(spec.HealthWaitSeconds) is { } invalidWait) return invalidWait;
        if (ValidateTimeLeftForHealthWait(spec.TimeoutSeconds, spec.HealthWaitSeconds, spec.RollbackOnFailure) is { } tooShort) return tooShort;

        var project = spec.ProjectName!;
        var healthWait = EffectiveHealthWait(spec.HealthWaitSeconds, spec.TimeoutSeconds, spec.RollbackOnFailure);
        // A redeploy goes where the project is, when that is one agent; a new project needs agent_id unless one agent is online.
        return await submitter.SubmitAsync(new JobRequest
        {
            Type = CommandTypes.DeployCompose,
            ProjectName = project,
            AgentId = spec.AgentId,
            ChooseByProject = true,
            WaitIfOffline = !spec.FailFast,
            TimeoutSeconds = spec.TimeoutSeconds,
            QueueTtlSeconds = spec.QueueTtlSeconds,
            Body = (agentId, token) => NewRevisionAsync(deployer, project, agentId, yaml!, spec.RollbackOnFailure, healthWait, token, spec.Pull),
        }, cancellationToken);
    }

    /// <summary>
    /// The DEPLOY_COMPOSE of a new revision of <paramref name="yaml"/> on one agent: the project's variables for that agent
    /// (encrypted until the command is written), and the deploy policy judged on the file as compose will interpolate it
    /// with them. The body every deploy of a compose file uses, one agent or a rollout's many.
    /// </summary>
    public async ValueTask<CommandBody> NewRevisionAsync(Deployer deployer, string project, string agentId, string yaml, bool rollbackOnFailure, int healthWait, CancellationToken cancellationToken, bool pull = false)
    {
        var deployed = await variables.ForDeployAsync(project, agentId, cancellationToken);
        var decision = policy.Decide(deployer.Restricted, yaml, deployed);
        if (decision.Violations is { } violations) return CommandRefusal.Invalid("compose_file_base64", "the deploy policy refuses it: " + violations);
        var body = ProjectCommands.Revision(project, agentId, yaml, deployed.Count == 0 ? null : protector.ProtectSnapshot(deployed),
            deployed.Select(v => v.Name), deployer.Name, rollbackOf: null, rollbackOnFailure, healthWait, decision, pull);
        return await registries.WithLoginsAsync(body, agentId, yaml, deployed, cancellationToken);
    }

    /// <summary>
    /// The DEPLOY_COMPOSE that deploys an earlier revision again on one agent (<paramref name="number"/>, or by default the
    /// one <see cref="RollbackTargets"/> picks), with the variables it was deployed with, as a new revision. The policy in
    /// force now (and the deployer's) applies, whatever it was when the revision was made.
    /// </summary>
    public async ValueTask<CommandBody> RevisionAgainAsync(Deployer deployer, string project, string agentId, int? number, int healthWait, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var (target, refusal) = await RollbackTargets.FindAsync(db, project, agentId, number, cancellationToken);
        if (refusal is not null) return refusal;
        var decision = policy.Decide(deployer.Restricted, target!.ComposeYaml, target.VariablesProtected);
        if (decision.Violations is { } violations)
            return CommandRefusal.Invalid("revision", $"revision {target.Number} is refused by the deploy policy now in force: " + violations);
        var body = ProjectCommands.Revision(project, agentId, target.ComposeYaml, target.VariablesProtected,
            target.VariableNames.Split(',', StringSplitOptions.RemoveEmptyEntries), deployer.Name, rollbackOf: target.Number,
            rollbackOnFailure: false, healthWait, decision);
        // The registry logins in force now: a password rotated since the revision was made is the one that works.
        return await registries.WithLoginsAsync(body, agentId, target.ComposeYaml, RevisionVariables(target.VariablesProtected), cancellationToken);
    }

    private IReadOnlyList<ProjectVariable> RevisionVariables(string? variablesProtected)
    {
        if (variablesProtected is null) return [];
        try
        {
            return protector.UnprotectSnapshot(variablesProtected);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return []; // the dispatcher refuses the job for it; image hosts then come from the file alone
        }
    }

    /// <summary>Deploys an earlier revision again (<see cref="RollbackTargets"/> picks which), as a new revision.</summary>
    public async Task<Submission> RollbackAsync(RollbackSpec spec, Deployer deployer, CancellationToken cancellationToken)
    {
        var submission = await SubmitRollbackAsync(spec, deployer, cancellationToken);
        if (deployer.Actor is { } actor)
            await audit.RecordSubmissionAsync(actor, Audit.AuditActions.Rollback, $"project:{spec.ProjectName}", submission,
                new { project_name = spec.ProjectName, agent_id = spec.AgentId, spec.Revision, spec.HealthWaitSeconds, spec.TimeoutSeconds, spec.FailFast });
        return submission;
    }

    private async Task<Submission> SubmitRollbackAsync(RollbackSpec spec, Deployer deployer, CancellationToken cancellationToken)
    {
        var projectName = spec.ProjectName;
        if (ValidateProject(projectName) is { } invalid) return invalid;
        if (ValidateHealthWait(spec.HealthWaitSeconds) is { } invalidWait) return invalidWait;
        if (ValidateTimeLeftForHealthWait(spec.TimeoutSeconds, spec.HealthWaitSeconds, rollbackOnFailure: false) is { } tooShort) return tooShort;
        if (spec.Revision is < 1) return CommandRefusal.Invalid("revision", "must be a revision number (1 or more); GET /deployments/{project_name}/revisions lists them");
        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
        {
            if (!await db.Revisions.AnyAsync(r => r.ProjectName == projectName, cancellationToken))
                return CommandRefusal.NotFound("Unknown project", $"Project '{projectName}' has never been deployed, so there is nothing to roll back to.");
        }

        var healthWait = EffectiveHealthWait(spec.HealthWaitSeconds, spec.TimeoutSeconds, rollbackOnFailure: false);
        return await submitter.SubmitAsync(new JobRequest
        {
            Type = CommandTypes.DeployCompose,
            ProjectName = projectName,
            AgentId = spec.AgentId,
            ChooseByProject = true,
            WaitIfOffline = !spec.FailFast,
            TimeoutSeconds = spec.TimeoutSeconds,
            QueueTtlSeconds = spec.QueueTtlSeconds,
            Body = (agentId, token) => RevisionAgainAsync(deployer, projectName, agentId, spec.Revision, healthWait, token),
        }, cancellationToken);
    }

    /// <summary>The compose file as text, or why it cannot be deployed: over INSTADEPLOY_MAX_COMPOSE_BYTES, not base64, not
    /// UTF-8, or not a compose file (<see cref="ComposeValidator"/>).</summary>
    public (string? Yaml, CommandRefusal? Refusal) ReadComposeFile(string? base64)
    {
        if (string.IsNullOrEmpty(base64))
            return (null, CommandRefusal.Invalid("compose_file_base64", "is required: the docker-compose.yml, base64 encoded"));
        var max = options.Value.MaxComposeBytes;
        if ((long)base64.Length * 3 / 4 > max + 3)
            return (null, CommandRefusal.TooLarge($"The compose file is larger than the limit of {max} bytes (INSTADEPLOY_MAX_COMPOSE_BYTES)."));
        byte[] compose;
        try
        {
            compose = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return (null, CommandRefusal.Invalid("compose_file_base64", "is not valid base64; encode the file with `base64 -w0 docker-compose.yml`"));
        }
        if (compose.Length > max)
            return (null, CommandRefusal.TooLarge($"The compose file is {compose.Length} bytes, over the limit of {max} bytes (INSTADEPLOY_MAX_COMPOSE_BYTES)."));
        string yaml;
        try
        {
            yaml = StrictUtf8.GetString(compose);
        }
        catch (DecoderFallbackException)
        {
            return (null, CommandRefusal.Invalid("compose_file_base64", "does not decode to UTF-8 text"));
        }
        return ComposeValidator.Validate(yaml) is { } composeError
            ? (null, CommandRefusal.Invalid("compose_file_base64", composeError))
            : (yaml, null);
    }

    public static CommandRefusal? ValidateHealthWait(int? seconds) =>
        seconds is < 0 or > DeployPayload.MaxHealthWaitSeconds
            ? CommandRefusal.Invalid("health_wait_seconds", $"must be between 0 (no wait) and {DeployPayload.MaxHealthWaitSeconds}")
            : null;

    /// <summary>A health wait named in the request must fit in the job's timeout (twice, with rollback_on_failure), with
    /// 30 s left for compose itself.</summary>
    public CommandRefusal? ValidateTimeLeftForHealthWait(int? timeoutSeconds, int? healthWaitSeconds, bool rollbackOnFailure)
    {
        if (healthWaitSeconds is not { } wait) return null;
        var timeout = timeoutSeconds ?? options.Value.JobTimeoutSeconds;
        if (CommandSubmitter.ValidateTimeout(timeout) is not null) return null; // the submission refuses the timeout itself
        var needed = wait * (rollbackOnFailure ? 2 : 1) + 30;
        return timeout >= needed ? null
            : CommandRefusal.Invalid("timeout_seconds", $"is {timeout} s, too short for a health wait of {wait} s{(rollbackOnFailure ? " and a rollback's own wait" : "")}: give at least {needed} s, or a shorter health_wait_seconds");
    }

    /// <summary>The health wait when the request names none: 60 s, or less when the job's timeout is short, so the wait
    /// (and a rollback's) always ends before the job's deadline.</summary>
    public int EffectiveHealthWait(int? requested, int? timeoutSeconds, bool rollbackOnFailure) =>
        requested ?? Math.Min(DeployPayload.DefaultHealthWaitSeconds, (timeoutSeconds ?? options.Value.JobTimeoutSeconds) / (rollbackOnFailure ? 4 : 2));

    /// <summary>A project name must follow <see cref="ProjectNames"/>.</summary>
    public static CommandRefusal? ValidateProject(string? projectName) => projectName switch
    {
        null or "" => CommandRefusal.Invalid("project_name", "is required"),
        _ when !ProjectNames.IsValid(projectName) => CommandRefusal.Invalid("project_name",
            $"'{Printable(projectName)}' is not a valid project name: use 1-64 letters, digits, '_' or '-' ({ProjectNames.Pattern})"),
        _ => null,
    };

    private static string Printable(string value)
    {
        var shown = value.Length > 80 ? value[..80] + "…" : value;
        return new string([.. shown.Select(c => char.IsControl(c) ? '?' : c)]);
    }
}
