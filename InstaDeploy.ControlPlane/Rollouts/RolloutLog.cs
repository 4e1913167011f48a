namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>The rollouts' log events, with stable ids.</summary>
internal static partial class RolloutLog
{
    [LoggerMessage(4001, LogLevel.Information, "Rollout {RolloutId} of {Project} created: {Targets} targets, max_parallel {MaxParallel}")]
    public static partial void RolloutCreated(this ILogger logger, string rolloutId, string project, int targets, int maxParallel);

    [LoggerMessage(4002, LogLevel.Warning, "Rollout {RolloutId}: the restore of agent {AgentId} was refused: {Reason}")]
    public static partial void RestoreRefused(this ILogger logger, string rolloutId, string agentId, string reason);

    [LoggerMessage(4003, LogLevel.Information, "Rollout {RolloutId} resumed after a restart; {Reconciled} target(s) reconciled from the jobs table")]
    public static partial void RolloutResumed(this ILogger logger, string rolloutId, int reconciled);

    [LoggerMessage(4004, LogLevel.Error, "Rollout {RolloutId}: a step failed and is retried on the next tick")]
    public static partial void StepFailed(this ILogger logger, Exception exception, string rolloutId);

    [LoggerMessage(4005, LogLevel.Information, "Rollout {RolloutId} is {State}: {Reason}")]
    public static partial void RolloutStateChanged(this ILogger logger, string rolloutId, string state, string reason);
}
