namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary><c>instadeploy rollouts ls|show|pause|resume|promote|cancel</c>.</summary>
public sealed class RolloutsCommand(RolloutsListCommand list, RolloutsShowCommand show, CommandServices services)
    : GroupCommand("rollouts", "Deploys to many agents in batches (`deploy --selector`): list, watch, pause, resume, promote, cancel",
        list, show,
        new RolloutActionCommand("pause", "Pause a rollout: no new target starts; those deploying finish", services),
        new RolloutActionCommand("resume", "Resume a paused rollout; after failures, accepts them and goes on (canaries waiting need promote)", services),
        new RolloutActionCommand("promote", "Promote the canaries: the other targets go on", services),
        new RolloutActionCommand("cancel", "Cancel a rollout: no new target starts; those deploying finish and are recorded", services));
