using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>
/// Keeps each project's placement (which agent runs it, in what state, at which revision) and its revisions in step
/// with its deploy, stop and status jobs, inside the job's own transaction.
/// </summary>
public sealed class DeploymentBookkeeping : IJobLifecycleHook
{
    private static readonly string[] OpenStates = [JobStatuses.Pending, JobStatuses.Sent, JobStatuses.Running];

    public bool Tracks(string type, string? projectName) => type switch
    {
        CommandTypes.DeployCompose => true,
        CommandTypes.StopCompose or CommandTypes.Status => projectName is not null,
        _ => false,
    };

    /// <summary>A deploy is numbered as the project's next revision (stored with it, and named in its payload); a deploy
    /// or stop moves the placement, remembering its state before, to restore it if the job never reaches the agent.</summary>
    public async Task OnCreatingAsync(InstaDeployDbContext db, JobDraft draft, JobEntity job, CancellationToken cancellationToken)
    {
        // A rollout's deploy carries its revision inside the rollout's own state.
        if ((draft.HookState as RevisionEntity ?? (draft.HookState as Rollouts.RolloutJobState)?.Revision) is { } revision && draft.Payload is DeployComposePayload payload)
        {
            revision.Id = 0;
            revision.Number = 1 + (await db.Revisions.Where(r => r.ProjectName == job.ProjectName).MaxAsync(r => (int?)r.Number, cancellationToken) ?? 0);
            revision.JobId = job.Id;
            revision.CreatedAt = job.CreatedAt;
            draft.Payload = payload with { Revision = revision.Number };
            db.Revisions.Add(revision);
        }
        if (job.ProjectName is { } project && StateOnStart(job.Type) is { } state)
            await MovePlacementAsync(db, project, job.AgentId, job.Type, state, job.Id, job.CreatedAt, cancellationToken);
        if (job is { Type: CommandTypes.Status, ProjectName: { } checkedProject } && draft.HookState is ReconcileReason reason
            && await db.Deployments.FindAsync([checkedProject, job.AgentId], cancellationToken) is { } placement)
            placement.ObservationReason = reason.Why; // said again when the STATUS comes back
    }

    public async Task OnFinishingAsync(InstaDeployDbContext db, JobEntity job, JobEnding ending, CancellationToken cancellationToken)
    {
        var (status, resultJson, reachedAgent, now) = ending;
        var placement = job.ProjectName is null ? null
            : await db.Deployments.FirstOrDefaultAsync(d => d.ProjectName == job.ProjectName && d.AgentId == job.AgentId && d.LastJobId == job.Id, cancellationToken);
        if (placement is not null)
        {
            if (!reachedAgent)
            {
                // Never reached the agent: nothing changed there, so the placement goes back to what it was: the state
                // its last job that did reach the agent left (an earlier job may have expired in the queue too).
                var before = await db.Jobs.AsNoTracking()
                    .Where(j => j.ProjectName == job.ProjectName && j.AgentId == job.AgentId && j.Id != job.Id
                        && (j.Type == CommandTypes.DeployCompose || j.Type == CommandTypes.StopCompose)
                        && j.Status != JobStatuses.Expired && j.SentAt != null)
                    .OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id)
                    .Select(j => new { j.Id, j.Type, j.Status }).FirstOrDefaultAsync(cancellationToken);
                var stillOpen = await db.Jobs.AsNoTracking()
                    .Where(j => j.ProjectName == job.ProjectName && j.AgentId == job.AgentId && j.Id != job.Id
                        && (j.Type == CommandTypes.DeployCompose || j.Type == CommandTypes.StopCompose) && OpenStates.Contains(j.Status))
                    .OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id)
                    .Select(j => new { j.Id, j.Type }).FirstOrDefaultAsync(cancellationToken);
                if (stillOpen is not null)
                    (placement.State, placement.LastJobId) = (StateOnStart(stillOpen.Type)!, stillOpen.Id); // a later job is still coming
                else if (before is not null)
                    (placement.State, placement.LastJobId) = (OpenStates.Contains(before.Status) ? StateOnStart(before.Type)! : StateOnFinish(before.Type, before.Status) ?? placement.State, before.Id);
                else if (placement.CurrentRevision is null)
                    db.Deployments.Remove(placement); // never deployed there
                else
                    (placement.State, placement.LastJobId) = (placement.PreviousState ?? DeploymentStates.Unknown, placement.PreviousJobId ?? placement.LastJobId);
            }
            else if (StateOnFinish(job.Type, status) is { } state)
            {
                placement.State = state;
            }
            placement.UpdatedAt = now;
        }
        if (job.Type == CommandTypes.DeployCompose
            && await db.Revisions.FirstOrDefaultAsync(r => r.JobId == job.Id, cancellationToken) is { } revision)
        {
            var (rolledBackTo, rollbackSucceeded) = RollbackIn(resultJson);
            revision.FinishedAt = now;
            revision.RolledBackTo = rollbackSucceeded ? rolledBackTo : null;
            revision.Outcome = (status, rolledBackTo, rollbackSucceeded) switch
            {
                (JobStatuses.Completed, _, _) => RevisionOutcomes.Succeeded,
                (JobStatuses.Failed, not null, true) => RevisionOutcomes.RolledBack,
                (JobStatuses.Failed, _, _) => RevisionOutcomes.Failed,
                (JobStatuses.Expired, _, _) => RevisionOutcomes.Expired,
                _ => RevisionOutcomes.TimedOut,
            };
            if (placement is not null && revision.Outcome == RevisionOutcomes.RolledBack)
                (placement.State, placement.CurrentRevision) = (DeploymentStates.Running, rolledBackTo);
            else if (status == JobStatuses.Completed
                && (placement ?? await db.Deployments.FirstOrDefaultAsync(d => d.ProjectName == job.ProjectName && d.AgentId == job.AgentId, cancellationToken)) is { } placed
                && (placed.CurrentRevision ?? 0) < revision.Number)
                placed.CurrentRevision = revision.Number; // also when a later deploy of the project was already created
        }
        if (job is { Type: CommandTypes.Status, ProjectName: not null } && status == JobStatuses.Completed && Observed(resultJson) is { } observed
            && await db.Deployments.FirstOrDefaultAsync(d => d.ProjectName == job.ProjectName && d.AgentId == job.AgentId, cancellationToken) is { } seen
            && await db.Jobs.AnyAsync(j => j.Id == seen.LastJobId && !OpenStates.Contains(j.Status), cancellationToken))
        {
            // Level-triggered: what STATUS saw on the engine is the placement's state and, where the containers say which
            // revision started them, its current revision (after a timeout, an interruption, a late result, an outage).
            var note = new List<string>();
            if (seen.State != observed.State) note.Add($"state {seen.State} -> {observed.State}");
            seen.State = observed.State;
            if (observed.Revision is { } running && running != seen.CurrentRevision
                && await db.Revisions.AnyAsync(r => r.ProjectName == job.ProjectName && r.AgentId == job.AgentId && r.Number == running, cancellationToken))
            {
                note.Add($"current revision {seen.CurrentRevision?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} -> {running}");
                seen.CurrentRevision = running;
            }
            var why = seen.ObservationReason is { Length: > 0 } reason ? reason : "a STATUS";
            seen.ObservedAt = now;
            seen.ObservedNote = note.Count == 0 ? $"{why}: the engine matches" : $"{why}: {string.Join(", ", note)}";
            seen.ObservationReason = null;
            seen.UpdatedAt = now;
        }
    }

    private static async Task MovePlacementAsync(InstaDeployDbContext db, string projectName, string agentId, string type, string state, string jobId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var placement = await db.Deployments.FindAsync([projectName, agentId], cancellationToken);
        if (placement is null)
        {
            // Only a deploy places a project on an agent; stopping a project that is not there changes nothing.
            if (type != CommandTypes.DeployCompose) return;
            db.Deployments.Add(new DeploymentEntity
            {
                ProjectName = projectName, AgentId = agentId, State = state, LastJobId = jobId, CreatedAt = now, UpdatedAt = now,
            });
            return;
        }
        placement.PreviousState = placement.State;
        placement.PreviousJobId = placement.LastJobId;
        placement.State = state;
        placement.LastJobId = jobId;
        placement.UpdatedAt = now;
    }

    private static string? StateOnStart(string type) => type switch
    {
        CommandTypes.DeployCompose => DeploymentStates.Deploying,
        CommandTypes.StopCompose => DeploymentStates.Stopping,
        _ => null,
    };

    private static string? StateOnFinish(string type, string status) => (type, status) switch
    {
        (CommandTypes.DeployCompose or CommandTypes.StopCompose, JobStatuses.TimedOut) => DeploymentStates.Unknown,
        (CommandTypes.DeployCompose, JobStatuses.Completed) => DeploymentStates.Running,
        (CommandTypes.DeployCompose, _) => DeploymentStates.Failed,
        (CommandTypes.StopCompose, JobStatuses.Completed) => DeploymentStates.Stopped,
        (CommandTypes.StopCompose, _) => DeploymentStates.StopFailed,
        _ => null,
    };

    /// <summary>What a STATUS saw: the project's state on the engine and, when every container carries the same
    /// <see cref="ContainerLabels.Revision"/>, that revision.</summary>
    private static (string State, int? Revision)? Observed(string? statusResult)
    {
        if (statusResult is null) return null;
        using var document = System.Text.Json.JsonDocument.Parse(statusResult);
        if (document.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object || !document.RootElement.TryGetProperty("containers", out var containers) || containers.ValueKind != System.Text.Json.JsonValueKind.Array)
            return null;
        var all = containers.EnumerateArray().Where(c => c.ValueKind == System.Text.Json.JsonValueKind.Object).ToList();
        var running = all.Count(c => c.TryGetProperty("state", out var s) && s.ValueKind == System.Text.Json.JsonValueKind.String && s.GetString() == "running");
        var state = all.Count == 0 ? DeploymentStates.Stopped : running == all.Count ? DeploymentStates.Running : DeploymentStates.Degraded;
        var revisions = all.Select(c => c.TryGetProperty("revision", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.String
            && int.TryParse(r.GetString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : (int?)null).Distinct().ToList();
        return (state, revisions is [{ } one] ? one : null);
    }

    /// <summary>The rollback a failed deploy's result reports, if the agent rolled back by itself.</summary>
    private static (int? To, bool Succeeded) RollbackIn(string? resultJson)
    {
        if (resultJson is null) return (null, false);
        using var document = System.Text.Json.JsonDocument.Parse(resultJson);
        var root = document.RootElement;
        if (root.ValueKind != System.Text.Json.JsonValueKind.Object
            || !root.TryGetProperty(DeployPayload.RolledBackTo, out var to) || !to.TryGetInt32(out var number))
            return (null, false);
        return (number, root.TryGetProperty(DeployPayload.RollbackSucceeded, out var ok) && ok.ValueKind == System.Text.Json.JsonValueKind.True);
    }
}
