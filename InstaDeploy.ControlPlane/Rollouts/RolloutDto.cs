using System.Text.Json;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>A rollout as the REST API shows it.</summary>
/// <param name="RolloutId">Its id; GET /rollouts/{rollout_id}.</param>
/// <param name="ProjectName">The project deployed ("" for agent updates and plugins).</param>
/// <param name="State">pending, running, paused, rolling_back, succeeded, failed, rolled_back or cancelled.</param>
/// <param name="Reason">Why it is in that state (why it paused or failed), or "".</param>
/// <param name="AwaitingPromotion">The canaries are done and the rest waits for POST /rollouts/{id}/promote.</param>
/// <param name="Selector">The selector the targets were chosen by, or null when they were named.</param>
/// <param name="ComposeSha256">SHA-256 of the compose file deployed (null for rollback_to).</param>
/// <param name="RollbackTo">For a rollout with rollback_to: what was asked.</param>
/// <param name="RollbackChoice">For rollback_to: which compose file was chosen, and each target's revision of it.</param>
/// <param name="Strategy">The strategy as resolved to numbers for this rollout's targets.</param>
/// <param name="Counts">How many targets are in each state.</param>
/// <param name="Targets">A row per target, in deploy order (left out of lists).</param>
/// <param name="CreatedBy">The API key that created it.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="StartedAt">When its first target was started.</param>
/// <param name="FinishedAt">When it reached a final state.</param>
/// <param name="UpdatedAt">When it last changed.</param>
/// <param name="LastEventId">The number of its last event (GET /rollouts/{id}/events resumes after a Last-Event-ID).</param>
/// <param name="Action">deploy, agent_update, plugin_install or plugin_remove.</param>
/// <param name="BundleName">For agent_update and the plugin actions: InstaDeploy.Agent or the plugin.</param>
/// <param name="BundleVersion">For agent_update and plugin_install: the version rolled out.</param>
public sealed record RolloutDto(
    string RolloutId, string ProjectName, string State, string Reason, bool AwaitingPromotion, string? Selector, string? ComposeSha256,
    string? RollbackTo, string? RollbackChoice, RolloutStrategyDto Strategy, RolloutCountsDto Counts, RolloutTargetDto[]? Targets,
    string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, DateTimeOffset UpdatedAt, long LastEventId,
    string Action = RolloutActions.Deploy, string? BundleName = null, string? BundleVersion = null);

/// <summary>A rollout's strategy, resolved.</summary>
/// <param name="MaxParallel">Targets deployed at once (a batch).</param>
/// <param name="MaxParallelSpec">max_parallel as given (a count or a percentage).</param>
/// <param name="Canary">Targets deployed first, before the others wait for promotion.</param>
/// <param name="AutoPromote">Whether the rollout goes on by itself once every canary succeeded.</param>
/// <param name="Promoted">Whether the canaries were promoted.</param>
/// <param name="BatchWaitSeconds">Pause between one batch finishing and the next starting.</param>
/// <param name="HealthWaitSeconds">Each target's health wait.</param>
/// <param name="MaxFailures">Failed targets that trigger on_failure.</param>
/// <param name="MaxFailuresSpec">max_failures as given.</param>
/// <param name="OnFailure">pause, continue or rollback.</param>
/// <param name="Offline">wait or skip.</param>
public sealed record RolloutStrategyDto(int MaxParallel, string MaxParallelSpec, int Canary, bool AutoPromote, bool Promoted, int BatchWaitSeconds,
    int HealthWaitSeconds, int MaxFailures, string MaxFailuresSpec, string OnFailure, string Offline);

/// <summary>Targets by state.</summary>
public sealed record RolloutCountsDto(int Total, int Waiting, int Deploying, int Succeeded, int Failed, int Skipped, int Cancelled, int RollingBack, int RolledBack, int RollbackFailed);

/// <summary>One target of a rollout.</summary>
/// <param name="Ordinal">Its place in the deploy order, from 0.</param>
/// <param name="AgentId">The agent.</param>
/// <param name="Batch">Its batch (0 is the canaries, when there are any).</param>
/// <param name="State">waiting, deploying, succeeded, failed, skipped, cancelled, rolling_back, rolled_back or rollback_failed.</param>
/// <param name="JobId">Its deploy job (GET /jobs/{job_id}, its live output at /jobs/{job_id}/logs?follow=true).</param>
/// <param name="JobStatus">How that job ended.</param>
/// <param name="Revision">The revision the deploy created.</param>
/// <param name="PreviousRevision">What ran there before (what a fleet rollback restores); null when the project did not run there.</param>
/// <param name="RollbackOf">For rollback_to: the agent's revision deployed again.</param>
/// <param name="RollbackJobId">The job that restored the previous revision (or stopped the project) after a failure.</param>
/// <param name="RollbackRevision">The revision that restore created.</param>
/// <param name="Error">Why it failed or was skipped.</param>
/// <param name="StartedAt">When its job was created.</param>
/// <param name="FinishedAt">When it reached its state.</param>
public sealed record RolloutTargetDto(int Ordinal, string AgentId, int Batch, string State, string? JobId, string? JobStatus, int? Revision, int? PreviousRevision,
    int? RollbackOf, string? RollbackJobId, int? RollbackRevision, string Error, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

internal static class RolloutMapping
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static RolloutDto ToDto(this RolloutEntity r, IReadOnlyList<RolloutTargetEntity> targets, bool withTargets) => new(
        r.Id, r.ProjectName, r.State, r.Reason, r.PauseKind == RolloutPauseKinds.Canary, r.Selector, r.ComposeSha256, r.RollbackTo, r.RollbackChoice,
        r.Strategy(), Counts(targets), withTargets ? [.. targets.Select(ToDto)] : null,
        r.CreatedBy, r.CreatedAt, r.StartedAt, r.FinishedAt, r.UpdatedAt, r.LastEventSeq, r.Action, r.BundleName, r.BundleVersion);

    public static RolloutStrategyDto Strategy(this RolloutEntity r) => new(r.MaxParallel, r.MaxParallelSpec, r.CanaryCount, r.AutoPromote, r.Promoted,
        r.BatchWaitSeconds, r.HealthWaitSeconds, r.MaxFailures, r.MaxFailuresSpec, r.OnFailure, r.Offline);

    public static RolloutTargetDto ToDto(this RolloutTargetEntity t) => new(t.Ordinal, t.AgentId, t.Batch, t.State, t.JobId, t.JobStatus, t.Revision,
        t.PreviousRevision, t.RollbackOf, t.RollbackJobId, t.RollbackRevision, t.Error, t.StartedAt, t.FinishedAt);

    public static RolloutCountsDto Counts(IReadOnlyCollection<RolloutTargetEntity> targets)
    {
        int Of(string state) => targets.Count(t => t.State == state);
        return new(targets.Count, Of(RolloutTargetStates.Waiting), Of(RolloutTargetStates.Deploying), Of(RolloutTargetStates.Succeeded),
            Of(RolloutTargetStates.Failed), Of(RolloutTargetStates.Skipped), Of(RolloutTargetStates.Cancelled), Of(RolloutTargetStates.RollingBack),
            Of(RolloutTargetStates.RolledBack), Of(RolloutTargetStates.RollbackFailed));
    }

    /// <summary>What a <c>target</c> event carries.</summary>
    public static string TargetEvent(RolloutTargetEntity t) => JsonSerializer.Serialize(t.ToDto(), Json);

    /// <summary>What a <c>rollout</c> event carries: the rollout without its target rows.</summary>
    public static string RolloutEvent(RolloutEntity r, IReadOnlyList<RolloutTargetEntity> targets) => JsonSerializer.Serialize(r.ToDto(targets, withTargets: false), Json);
}
