using System.Diagnostics;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>
/// Every change of a job's state, persisted as it happens. Each change is a conditional update, so a late or
/// duplicate message never moves a job out of a terminal state, and an agent can only answer its own jobs.
/// Deploy and stop jobs also move their project's deployment state.
/// </summary>
public sealed class JobStore(
    IDbContextFactory<InstaDeployDbContext> databases,
    DatabaseWriteGate writes,
    JobWriteBatcher batcher,
    TimeProvider time,
    IOptions<ControlPlaneOptions> options,
    ControlPlaneMetrics metrics,
    ILogger<JobStore> logger)
{
    private static readonly string[] OpenStates = [JobStatuses.Pending, JobStatuses.Sent, JobStatuses.Running];

    /// <summary>
    /// Persists a new job (and moves its project's placement). With <paramref name="claimForSend"/> (its agent is connected
    /// and the caller sends it next) the job is stored already claimed, SENT with its timeout running, in the same write as
    /// its creation: the claim that <see cref="TryClaimForSendAsync"/> makes for a job created earlier, without a second
    /// transaction on the path from request to agent. The caller unclaims it if the send fails. With
    /// <paramref name="revision"/> (a deploy), the revision is numbered (the project's next number), stored in the same
    /// transaction, and its number added to the payload.
    /// </summary>
    public async Task<JobEntity> CreateAsync(string type, string agentId, string? projectName, string payloadJson, int timeoutSeconds, TimeSpan queueTtl, string? traceParent, bool claimForSend, CancellationToken cancellationToken, RevisionEntity? revision = null)
    {
        using var activity = Telemetry.ActivitySource.StartActivity("job create");
        var now = time.GetUtcNow();
        var job = new JobEntity
        {
            Id = "job-" + Guid.CreateVersion7(now).ToString("N"),
            Type = type,
            AgentId = agentId,
            ProjectName = projectName,
            Status = claimForSend ? JobStatuses.Sent : JobStatuses.Pending,
            PayloadJson = payloadJson,
            CreatedAt = now,
            UpdatedAt = now,
            TimeoutSeconds = timeoutSeconds,
            SentAt = claimForSend ? now : null,
            TimeoutAt = claimForSend ? now + TimeSpan.FromSeconds(timeoutSeconds) : now + queueTtl + TimeSpan.FromSeconds(timeoutSeconds),
            ExpiresAt = now + queueTtl,
            TraceParent = traceParent,
        };
        activity?.SetTag(Telemetry.Tags.JobId, job.Id);
        if (revision is null && (projectName is null || DeploymentStateOnStart(type) is null))
        {
            // The job's own row only: one insert, committed together with the other writes queued at the same time.
            await batcher.InsertAsync(job);
            return job;
        }
        // Two first deploys of one project at once both try to add its placement (or take the same revision number);
        // the loser retries with fresh reads.
        for (var attempt = 0; ; attempt++)
        {
            using var write = await writes.EnterAsync(cancellationToken);
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            if (revision is not null)
            {
                revision.Id = 0;
                revision.Number = 1 + (await db.Revisions.Where(r => r.ProjectName == projectName).MaxAsync(r => (int?)r.Number, cancellationToken) ?? 0);
                revision.JobId = job.Id;
                revision.CreatedAt = now;
                var payload = System.Text.Json.Nodes.JsonNode.Parse(payloadJson)!.AsObject();
                payload[DeployPayload.Revision] = revision.Number;
                job.PayloadJson = payload.ToJsonString();
                db.Revisions.Add(revision);
            }
            db.Jobs.Add(job);
            if (projectName is not null && DeploymentStateOnStart(type) is { } state)
                await UpsertDeploymentAsync(db, projectName, agentId, type, state, job.Id, now, cancellationToken);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return job;
            }
            catch (DbUpdateException) when (attempt < 5)
            {
            }
        }
    }

    /// <summary>
    /// PENDING -> SENT, starting the job's timeout, before its command is written: only the caller that wins this
    /// update sends a job for the first time, so a job created while its agent connects is not sent twice.
    /// </summary>
    public async Task<bool> TryClaimForSendAsync(string jobId, int timeoutSeconds, CancellationToken cancellationToken)
    {
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var deadline = now + TimeSpan.FromSeconds(timeoutSeconds);
        return await db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatuses.Pending)
            .ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, JobStatuses.Sent)
                .SetProperty(j => j.SentAt, now)
                .SetProperty(j => j.TimeoutAt, deadline)
                .SetProperty(j => j.UpdatedAt, now), cancellationToken) == 1;
    }

    /// <summary>SENT -> PENDING when writing the command failed: the job waits for the agent's next connection.</summary>
    public async Task UnclaimAsync(string jobId, CancellationToken cancellationToken)
    {
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        await db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatuses.Sent)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatuses.Pending).SetProperty(j => j.UpdatedAt, now), cancellationToken);
    }

    /// <summary>How many of the agent's jobs have not ended. On every command, so plain SQL on a pooled connection: no
    /// DbContext, no EF connection set-up, no LINQ translation (index (AgentId, Status)).</summary>
    /// <summary>The agent's jobs waiting or running; with <paramref name="type"/>, only those of that command type.</summary>
    public async Task<int> CountOpenJobsAsync(string agentId, CancellationToken cancellationToken, string? type = null)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """SELECT COUNT(*) FROM "Jobs" WHERE "AgentId" = $agent AND "Status" IN ($pending, $sent, $running)"""
            + (type is null ? "" : """ AND "Type" = $type""");
        command.Parameters.AddWithValue("$agent", agentId);
        if (type is not null) command.Parameters.AddWithValue("$type", type);
        command.Parameters.AddWithValue("$pending", JobStatuses.Pending);
        command.Parameters.AddWithValue("$sent", JobStatuses.Sent);
        command.Parameters.AddWithValue("$running", JobStatuses.Running);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static readonly Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTimeOffset, long> StoredTime =
        new Microsoft.EntityFrameworkCore.Storage.ValueConversion.DateTimeOffsetToBinaryConverter();

    /// <summary>What decides how a result is stored; null for an unknown job. Plain SQL, as it runs for every result.</summary>
    private async Task<JobHead?> ReadHeadAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """SELECT "AgentId", "Status", "Type", "ProjectName", "TraceParent", "CreatedAt" FROM "Jobs" WHERE "Id" = $id""";
        command.Parameters.AddWithValue("$id", jobId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new JobHead(reader.GetString(0), reader.GetString(1), reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
            StoredTime.ConvertFromProvider(reader.GetInt64(5)) is DateTimeOffset created ? created : default);
    }

    /// <summary>A read connection from Microsoft.Data.Sqlite's pool (WAL: reads never wait for the writer).</summary>
    private async Task<Microsoft.Data.Sqlite.SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={options.Value.DatabasePath};Pooling=True;Default Timeout=30");
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    /// <summary>The agent's jobs that have not ended, oldest first: the order they must reach the agent in.</summary>
    public async Task<List<JobEntity>> OpenJobsAsync(string agentId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Jobs.AsNoTracking()
            .Where(j => j.AgentId == agentId && OpenStates.Contains(j.Status))
            .OrderBy(j => j.CreatedAt).ThenBy(j => j.Id)
            .ToListAsync(cancellationToken);
    }

    /// <summary>
    /// Applies an agent's response: RUNNING appends its output lines; COMPLETED/FAILED end the job. Returns whether
    /// the agent may forget the result: it is persisted now, or the job had already ended (a repeated result).
    /// </summary>
    public async Task<bool> ApplyResponseAsync(string agentId, AgentResponse response, CancellationToken cancellationToken)
    {
        switch (response.Status)
        {
            case JobStatuses.Running:
                await AppendRunningAsync(agentId, response, cancellationToken);
                return false;
            case JobStatuses.Completed or JobStatuses.Failed:
                var result = response.Result is { } r ? r.GetRawText() : null;
                await FinishAsync(response.JobId, agentId, response.Status, response.Logs, response.Error, result, cancellationToken);
                return true;
            default:
                logger.BadAgentMessage(agentId, $"unknown status '{response.Status}' for job {response.JobId}");
                return false;
        }
    }

    /// <summary>Ends a job the control plane cannot send (e.g. its variables cannot be decrypted) as FAILED.</summary>
    public Task FailAsync(string jobId, string error, CancellationToken cancellationToken) =>
        FinishAsync(jobId, null, JobStatuses.Failed, null, error, null, cancellationToken, neverSent: true);

    /// <summary>
    /// Ends every sent job whose deadline has passed as TIMED_OUT, and every job still waiting for its offline agent
    /// past its queue expiry as EXPIRED; returns how many.
    /// </summary>
    public async Task<int> TimeOutExpiredAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var timedOut = await db.Jobs
            .Where(j => (j.Status == JobStatuses.Sent || j.Status == JobStatuses.Running) && j.TimeoutAt <= now)
            .Select(j => j.Id)
            .ToListAsync(cancellationToken);
        foreach (var jobId in timedOut)
            await FinishAsync(jobId, null, JobStatuses.TimedOut, null, "no result from the agent before the job's timeout", null, cancellationToken);
        var expired = await db.Jobs
            .Where(j => j.Status == JobStatuses.Pending && j.ExpiresAt <= now)
            .Select(j => new { j.Id, j.AgentId })
            .ToListAsync(cancellationToken);
        foreach (var job in expired)
            await FinishAsync(job.Id, null, JobStatuses.Expired, null, $"agent '{job.AgentId}' did not come online before the job's queue expiry; it was never sent", null, cancellationToken);
        return timedOut.Count + expired.Count;
    }

    private async Task AppendRunningAsync(string agentId, AgentResponse response, CancellationToken cancellationToken)
    {
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var chunk = response.Logs.Length == 0 || response.Logs.EndsWith('\n') ? response.Logs : response.Logs + "\n";
        var cap = options.Value.MaxJobLogBytes;
        var updated = await db.Jobs
            .Where(j => j.Id == response.JobId && j.AgentId == agentId && OpenStates.Contains(j.Status))
            .ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, JobStatuses.Running)
                .SetProperty(j => j.Logs, j => j.Logs.Length < cap ? j.Logs + chunk : j.Logs)
                .SetProperty(j => j.UpdatedAt, now), cancellationToken);
        if (updated == 0) logger.UnknownJobResponse(agentId, response.JobId);
    }

    private async Task FinishAsync(string jobId, string? agentId, string status, string? logs, string error, string? resultJson, CancellationToken cancellationToken, bool neverSent = false)
    {
        // Read what decides the path outside the write gate (WAL: readers never wait for the writer). Id, agent, type,
        // project, trace and creation time never change, so only the status can be stale, and the update rechecks it.
        var head = await ReadHeadAsync(jobId, cancellationToken);
        if (head is null || (agentId is not null && head.AgentId != agentId) || JobStatuses.IsTerminal(head.Status))
        {
            if (agentId is not null) logger.UnknownJobResponse(agentId, jobId);
            return;
        }
        // A job of no project (health checks, most plugin commands) changes its own row only: one conditional UPDATE
        // is the whole write. Deploy, stop and status jobs move their project's placement and revision as well.
        if (head is { ProjectName: null } && head.Type != CommandTypes.DeployCompose)
        {
            await FinishJobOnlyAsync(jobId, agentId, head, status, logs, error, resultJson, cancellationToken);
            return;
        }

        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var job = await db.Jobs.FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (job is null || (agentId is not null && job.AgentId != agentId) || JobStatuses.IsTerminal(job.Status))
        {
            if (agentId is not null) logger.UnknownJobResponse(agentId, jobId);
            return;
        }

        ActivityContext.TryParse(job.TraceParent, null, out var parent);
        using var activity = Telemetry.ActivitySource.StartActivity("job result", ActivityKind.Internal, parent);
        activity?.SetTag(Telemetry.Tags.JobId, job.Id);
        activity?.SetTag(Telemetry.Tags.CommandType, job.Type);
        activity?.SetTag(Telemetry.Tags.AgentId, job.AgentId);
        activity?.SetTag(Telemetry.Tags.Outcome, status);
        if (job.ProjectName is not null) activity?.SetTag(Telemetry.Tags.Project, job.ProjectName);
        if (status != JobStatuses.Completed) activity?.SetStatus(ActivityStatusCode.Error, error);

        var now = time.GetUtcNow();
        job.Status = status;
        // A seed agent sends all output in its one final response; ours streams it first and repeats it all at the end.
        if (!string.IsNullOrEmpty(logs)) job.Logs = Tail(logs, options.Value.MaxJobLogBytes);
        job.Error = error;
        job.ResultJson = resultJson;
        job.UpdatedAt = now;
        job.CompletedAt = now;

        var deployment = job.ProjectName is null ? null
            : await db.Deployments.FirstOrDefaultAsync(d => d.ProjectName == job.ProjectName && d.AgentId == job.AgentId && d.LastJobId == job.Id, cancellationToken);
        if (deployment is not null)
        {
            if (agentId is null && (status == JobStatuses.Expired || neverSent))
            {
                // Never reached the agent: nothing changed there, so the placement goes back to what it was.
                if (deployment.PreviousState is null) db.Deployments.Remove(deployment);
                else (deployment.State, deployment.LastJobId) = (deployment.PreviousState, deployment.PreviousJobId!);
            }
            else if (DeploymentStateOnFinish(job.Type, status) is { } state)
            {
                deployment.State = state;
            }
            deployment.UpdatedAt = now;
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
            if (deployment is not null && revision.Outcome == RevisionOutcomes.RolledBack)
                (deployment.State, deployment.CurrentRevision) = (DeploymentStates.Running, rolledBackTo);
            else if (status == JobStatuses.Completed
                && (deployment ?? await db.Deployments.FirstOrDefaultAsync(d => d.ProjectName == job.ProjectName && d.AgentId == job.AgentId, cancellationToken)) is { } placed
                && (placed.CurrentRevision ?? 0) < revision.Number)
                placed.CurrentRevision = revision.Number; // also when a later deploy of the project was already created
        }
        if (job is { Type: CommandTypes.Status, ProjectName: not null } && status == JobStatuses.Completed && ObservedState(resultJson) is { } observed
            && await db.Deployments.FirstOrDefaultAsync(d => d.ProjectName == job.ProjectName && d.AgentId == job.AgentId, cancellationToken) is { } placement
            && await db.Jobs.AnyAsync(j => j.Id == placement.LastJobId && !OpenStates.Contains(j.Status), cancellationToken))
        {
            // Level-triggered: what STATUS saw on the engine is the placement's state (e.g. after an interrupted deploy).
            placement.State = observed;
            placement.UpdatedAt = now;
        }
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        metrics.JobFinished(job.Type, status, now - job.CreatedAt);
        logger.JobFinished(jobId, status, ofProject: job.ProjectName is not null);
    }

    private sealed record JobHead(string AgentId, string Status, string Type, string? ProjectName, string? TraceParent, DateTimeOffset CreatedAt);

    /// <summary>
    /// Ends a job that belongs to no project with one statement, conditional on the job being open (and the answering
    /// agent's), so a result that races a timeout or a repeated answer changes nothing: the same rule as the
    /// transaction in <see cref="FinishAsync"/>, without its reads inside the write gate, and group-committed with the
    /// other job writes queued at the same time (<see cref="JobWriteBatcher"/>); it returns once committed.
    /// </summary>
    private async Task FinishJobOnlyAsync(string jobId, string? agentId, JobHead head, string status, string? logs, string error, string? resultJson, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var now = time.GetUtcNow();
        var tail = string.IsNullOrEmpty(logs) ? null : Tail(logs, options.Value.MaxJobLogBytes);
        var updated = await batcher.FinishAsync(jobId, agentId, status, tail, error, resultJson, now);
        if (!updated)
        {
            // It ended between the read and the update (a timeout, or the same result twice at once).
            if (agentId is not null) logger.UnknownJobResponse(agentId, jobId);
            return;
        }

        ActivityContext.TryParse(head.TraceParent, null, out var parent);
        using (var activity = Telemetry.ActivitySource.StartActivity("job result", ActivityKind.Internal, parent, startTime: started))
        {
            activity?.SetTag(Telemetry.Tags.JobId, jobId);
            activity?.SetTag(Telemetry.Tags.CommandType, head.Type);
            activity?.SetTag(Telemetry.Tags.AgentId, head.AgentId);
            activity?.SetTag(Telemetry.Tags.Outcome, status);
            if (status != JobStatuses.Completed) activity?.SetStatus(ActivityStatusCode.Error, error);
        }
        metrics.JobFinished(head.Type, status, now - head.CreatedAt);
        logger.JobFinished(jobId, status, ofProject: false);
    }

    private static async Task UpsertDeploymentAsync(InstaDeployDbContext db, string projectName, string agentId, string type, string state, string jobId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var deployment = await db.Deployments.FindAsync([projectName, agentId], cancellationToken);
        if (deployment is null)
        {
            // Only a deploy places a project on an agent; stopping a project that is not there changes nothing.
            if (type != CommandTypes.DeployCompose) return;
            db.Deployments.Add(new DeploymentEntity
            {
                ProjectName = projectName, AgentId = agentId, State = state, LastJobId = jobId, CreatedAt = now, UpdatedAt = now,
            });
            return;
        }
        deployment.PreviousState = deployment.State;
        deployment.PreviousJobId = deployment.LastJobId;
        deployment.State = state;
        deployment.LastJobId = jobId;
        deployment.UpdatedAt = now;
    }

    private static string? DeploymentStateOnStart(string type) => type switch
    {
        CommandTypes.DeployCompose => DeploymentStates.Deploying,
        CommandTypes.StopCompose => DeploymentStates.Stopping,
        _ => null,
    };

    private static string? DeploymentStateOnFinish(string type, string status) => (type, status) switch
    {
        (CommandTypes.DeployCompose or CommandTypes.StopCompose, JobStatuses.TimedOut) => DeploymentStates.Unknown,
        (CommandTypes.DeployCompose, JobStatuses.Completed) => DeploymentStates.Running,
        (CommandTypes.DeployCompose, _) => DeploymentStates.Failed,
        (CommandTypes.StopCompose, JobStatuses.Completed) => DeploymentStates.Stopped,
        (CommandTypes.StopCompose, _) => DeploymentStates.StopFailed,
        _ => null,
    };

    private static string? ObservedState(string? statusResult)
    {
        if (statusResult is null) return null;
        using var document = System.Text.Json.JsonDocument.Parse(statusResult);
        if (!document.RootElement.TryGetProperty("containers", out var containers) || containers.ValueKind != System.Text.Json.JsonValueKind.Array)
            return null;
        var total = containers.GetArrayLength();
        var running = containers.EnumerateArray().Count(c => c.TryGetProperty("state", out var s) && s.GetString() == "running");
        return total == 0 ? DeploymentStates.Stopped : running == total ? DeploymentStates.Running : DeploymentStates.Degraded;
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

    private static string Tail(string text, int maxChars) => text.Length <= maxChars ? text : text[^maxChars..];
}
