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
public sealed class RolloutCommands(DeployService deploys, Releases.BundleCommands bundles)
{
    /// <summary>The target's deploy: the rollout's compose file, or for rollback_to the agent's own revision of it; for a
    /// rollout of a bundle, the agent update or plugin change.</summary>
    public JobRequest Deploy(RolloutEntity rollout, RolloutTargetEntity target) => rollout.Action == RolloutActions.Deploy ? DeployCompose(rollout, target) : bundles.ForTarget(rollout, target);

    private JobRequest DeployCompose(RolloutEntity rollout, RolloutTargetEntity target) => new()
    {
        Type = CommandTypes.DeployCompose,
        ProjectName = rollout.ProjectName,
        AgentId = target.AgentId,
        WaitIfOffline = rollout.Offline == "wait",
        TimeoutSeconds = rollout.TimeoutSeconds,
        QueueTtlSeconds = rollout.QueueTtlSeconds,
        Body = async (agentId, token) =>
        {
            var body = rollout.ComposeYaml is { } yaml
                ? await deploys.NewRevisionAsync(DeployerOf(rollout), rollout.ProjectName, agentId, yaml, rollbackOnFailure: false, rollout.HealthWaitSeconds, token)
                : await deploys.RevisionAgainAsync(DeployerOf(rollout), rollout.ProjectName, agentId, target.RollbackOf!.Value, rollout.HealthWaitSeconds, token);
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
                ? await deploys.RevisionAgainAsync(DeployerOf(rollout), rollout.ProjectName, agentId, previous, rollout.HealthWaitSeconds, token)
                : CommandBody.Of(new ProjectPayload { ProjectName = rollout.ProjectName }, CommandPayloadJson.Project);
            return Tag(body, rollout, target, restore: true);
        },
    };

    private static Deployer DeployerOf(RolloutEntity rollout) => new(rollout.CreatedBy, rollout.CreatedByRestricted);

    internal static CommandBody Tag(CommandBody body, RolloutEntity rollout, RolloutTargetEntity target, bool restore) =>
        body.Refusal is not null ? body : body with { HookState = new RolloutJobState(rollout.Id, target.Ordinal, restore, body.HookState as RevisionEntity) };
}
