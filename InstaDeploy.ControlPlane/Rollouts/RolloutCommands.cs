using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Deployments;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>
/// The job requests a rollout submits, one per target, to the agent named: the same deploy a POST /deploy (or a
/// rollback) sends, with the agent's own variables and a revision of its own, tagged with the target so the job's
/// creation claims it.
/// </summary>
public sealed class RolloutCommands(
    IDbContextFactory<InstaDeployDbContext> databases, ProjectVariableStore variables, VariableProtector protector, IOptions<ControlPlaneOptions> options)
{
    /// <summary>The target's deploy: the rollout's compose file, or for rollback_to the agent's own revision of it.</summary>
    public JobRequest Deploy(RolloutEntity rollout, RolloutTargetEntity target) => new()
    {
        Type = CommandTypes.DeployCompose,
        ProjectName = rollout.ProjectName,
        AgentId = target.AgentId,
        WaitIfOffline = rollout.Offline == "wait",
        TimeoutSeconds = rollout.TimeoutSeconds,
        QueueTtlSeconds = rollout.QueueTtlSeconds,
        Body = async (agentId, token) =>
        {
            CommandBody body;
            if (rollout.ComposeYaml is { } yaml)
            {
                var merged = await variables.ForDeployAsync(rollout.ProjectName, agentId, token);
                body = ProjectCommands.Revision(rollout.ProjectName, agentId, yaml, merged.Count == 0 ? null : protector.ProtectSnapshot(merged),
                    merged.Select(v => v.Name), rollout.CreatedBy, rollbackOf: null, rollbackOnFailure: false, rollout.HealthWaitSeconds);
            }
            else
            {
                body = await RevisionAgainAsync(rollout, agentId, target.RollbackOf!.Value, token);
            }
            return Tag(body, rollout, target, restore: false);
        },
    };

    /// <summary>
    /// After a failure with on_failure rollback: the revision the target ran before the rollout, deployed again; or,
    /// where the project did not run before, a stop. It waits for an offline agent: what was deployed must be undone.
    /// </summary>
    public JobRequest Restore(RolloutEntity rollout, RolloutTargetEntity target) => new()
    {
        Type = target.PreviousRevision is null ? CommandTypes.StopCompose : CommandTypes.DeployCompose,
        ProjectName = rollout.ProjectName,
        AgentId = target.AgentId,
        WaitIfOffline = true,
        TimeoutSeconds = rollout.TimeoutSeconds,
        QueueTtlSeconds = rollout.QueueTtlSeconds,
        Body = async (agentId, token) =>
        {
            var body = target.PreviousRevision is { } previous
                ? await RevisionAgainAsync(rollout, agentId, previous, token)
                : CommandBody.Of(new ProjectPayload { ProjectName = rollout.ProjectName }, CommandPayloadJson.Project);
            return Tag(body, rollout, target, restore: true);
        },
    };

    private async Task<CommandBody> RevisionAgainAsync(RolloutEntity rollout, string agentId, int number, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var (revision, refusal) = await RollbackTargets.FindAsync(db, rollout.ProjectName, agentId, number, cancellationToken);
        if (refusal is not null) return refusal;
        // The policy in force now applies to what is deployed again, whatever it was when the revision was made.
        if (options.Value.PolicyEnabled && InstaDeploy.Compose.ComposePolicy.Check(revision!.ComposeYaml, options.Value.PolicyBindAllowList) is { Count: > 0 } violations)
            return CommandRefusal.Invalid("revision", $"revision {revision.Number} is refused by the deploy policy now in force: " + string.Join("; ", violations));
        return ProjectCommands.Revision(rollout.ProjectName, agentId, revision!.ComposeYaml, revision.VariablesProtected,
            revision.VariableNames.Split(',', StringSplitOptions.RemoveEmptyEntries), rollout.CreatedBy, rollbackOf: revision.Number,
            rollbackOnFailure: false, rollout.HealthWaitSeconds);
    }

    private static CommandBody Tag(CommandBody body, RolloutEntity rollout, RolloutTargetEntity target, bool restore) =>
        body.Refusal is not null ? body : body with { HookState = new RolloutJobState(rollout.Id, target.Ordinal, restore, body.HookState as RevisionEntity) };
}
