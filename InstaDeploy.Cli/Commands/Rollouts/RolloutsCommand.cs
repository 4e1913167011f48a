namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary><c>instadeploy rollouts ls|show|pause|resume|promote|cancel</c> (needs a control plane with rollouts).</summary>
public sealed class RolloutsCommand(RolloutsListCommand list, RolloutsShowCommand show, CommandServices services)
    : GroupCommand("rollouts", "Deploys to many agents in batches (`deploy --selector`): list, watch, pause, resume, promote, cancel",
        list, show,
        new RolloutActionCommand("pause", "Pause a rollout: running deploys finish, no new batch starts", services),
        new RolloutActionCommand("resume", "Resume a paused rollout", services),
        new RolloutActionCommand("promote", "Promote a rollout past its canary to the remaining agents", services),
        new RolloutActionCommand("cancel", "Cancel a rollout: no further agent is deployed", services));
