using System.Diagnostics;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs.Output;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>
/// Every change of a job's state, persisted as it happens. Each change is a conditional update, so a late or
/// duplicate message never moves a job out of a terminal state, and an agent can only answer its own jobs. What other
/// features keep in step with a job (a deploy's placement and revision) they write through an
/// <see cref="IJobLifecycleHook"/> inside the same transaction.
/// </summary>
public sealed class JobStore(
    IDbContextFactory<InstaDeployDbContext> databases,
    DatabaseWriteGate writes,
    Database database,
    JobWriteBatcher batcher,
    JobReads reads,
    JobOutputHub output,
    JobEvents events,
    IEnumerable<IJobLifecycleHook> hooks,
    TimeProvider time,
    IOptions<ControlPlaneOptions> options,
    ControlPlaneMetrics metrics,
    ILogger<JobStore> logger)
{
    private static readonly string[] OpenStates = [JobStatuses.Pending, JobStatuses.Sent, JobStatuses.Running];
    private readonly IJobLifecycleHook[] _hooks = [.. hooks];

    /// <summary>
    /// Persists a new job. With <see cref="JobDraft.ClaimForSend"/> (its agent is connected and the caller sends it next)
    /// the job is stored already claimed, SENT with its timeout running, in the same write as its creation: the claim
    /// that <see cref="TryClaimForSendAsync"/> makes for a job created earlier, without a second transaction on the path
    /// from request to agent. The caller unclaims it if the send fails. A job a hook tracks is stored in one transaction
    /// with what the hook writes.
    /// </summary>
    public async Task<JobEntity> CreateAsync(JobDraft draft, CancellationToken cancellationToken)
    {
        using var activity = Telemetry.ActivitySource.StartActivity("job create");
        var now = time.GetUtcNow();
        var job = new JobEntity
        {
            Id = "job-" + Guid.CreateVersion7(now).ToString("N"),
            Type = draft.Type,
            AgentId = draft.AgentId,
            ProjectName = draft.ProjectName,
            Status = draft.ClaimForSend ? JobStatuses.Sent : JobStatuses.Pending,
            PayloadJson = "",
            CreatedAt = now,
            UpdatedAt = now,
            TimeoutSeconds = draft.TimeoutSeconds,
            SentAt = draft.ClaimForSend ? now : null,
            TimeoutAt = draft.ClaimForSend ? now + TimeSpan.FromSeconds(draft.TimeoutSeconds) : now + draft.QueueTtl + TimeSpan.FromSeconds(draft.TimeoutSeconds),
            ExpiresAt = now + draft.QueueTtl,
            TraceParent = draft.TraceParent,
            SecretsProtected = draft.SecretsProtected,
        };
        activity?.SetTag(TelemetryTags.JobId, job.Id);
        var tracking = _hooks.Where(h => h.Tracks(draft.Type, draft.ProjectName)).ToArray();
        if (tracking.Length == 0)
        {
            // The job's own row only: one insert, committed together with the other writes queued at the same time.
            job.PayloadJson = System.Text.Json.JsonSerializer.Serialize(draft.Payload, draft.PayloadType);
            await batcher.InsertAsync(job);
            return job;
        }
        // Two first deploys of one project at once may both add its placement (or take the same revision number); the
        // loser retries with fresh reads.
        for (var attempt = 0; ; attempt++)
        {
            if (!database.IsPostgres)
            {
                // SQLite: in the group commit, with the other tracked writes queued meanwhile (one writer either way).
                try
                {
                    await batcher.RunAsync(async db =>
                    {
                        foreach (var hook in tracking) await hook.OnCreatingAsync(db, draft, job, CancellationToken.None);
                        job.PayloadJson = System.Text.Json.JsonSerializer.Serialize(draft.Payload, draft.PayloadType);
                        db.Jobs.Add(job);
                        await db.SaveChangesAsync(CancellationToken.None);
                        return job;
                    });
                    return job;
                }
                catch (DbUpdateException) when (attempt < 5)
                {
                    continue;
                }
            }
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            // On PostgreSQL (writers side by side) the hooks read and write in the job's own transaction, so a hook can
            // lock what it reads (a rollout's row).
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            try
            {
                foreach (var hook in tracking) await hook.OnCreatingAsync(db, draft, job, cancellationToken);
                job.PayloadJson = System.Text.Json.JsonSerializer.Serialize(draft.Payload, draft.PayloadType);
                db.Jobs.Add(job);
                await db.SaveChangesAsync(cancellationToken);
                // The wake-up for the instance holding the agent, in the job's own transaction (delivered at commit).
                if (job.Status == JobStatuses.Pending)
                    await db.Database.ExecuteSqlAsync($"SELECT pg_notify({Cluster.ClusterSignals.JobsChannel}, {Cluster.ClusterSignals.JobWaitingPayload(job)})", cancellationToken);
                await transaction.CommitAsync(cancellationToken);
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

    /// <summary>
    /// PostgreSQL: PENDING -> SENT for the job another instance stored for <paramref name="agentId"/> and said so, in one
    /// round trip that also returns it (null when another sender has it, it has ended, or it is not as announced).
    /// </summary>
    public async Task<JobEntity?> ClaimAnnouncedAsync(string jobId, string agentId, int timeoutSeconds, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var (sent, deadline) = (TimeValue(now), TimeValue(now + TimeSpan.FromSeconds(timeoutSeconds)));
        var claimed = await db.Jobs.FromSql($"""
            UPDATE "Jobs" SET "Status" = {JobStatuses.Sent}, "SentAt" = {sent}, "TimeoutAt" = {deadline}, "UpdatedAt" = {sent}
            WHERE "Id" = {jobId} AND "AgentId" = {agentId} AND "Status" = {JobStatuses.Pending} AND "TimeoutSeconds" = {timeoutSeconds}
            RETURNING *
            """).AsNoTracking().ToListAsync(cancellationToken);
        return claimed.Count == 1 ? claimed[0] : null;
    }

    private static long TimeValue(DateTimeOffset value) => (long)StoredTime.ConvertToProvider(value)!;

    private static readonly Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTimeOffset, long> StoredTime =
        new Microsoft.EntityFrameworkCore.Storage.ValueConversion.DateTimeOffsetToBinaryConverter();

    /// <summary>SENT -> PENDING when writing the command failed: the job waits for the agent's next connection.</summary>
    public async Task UnclaimAsync(string jobId, CancellationToken cancellationToken)
    {
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        await db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatuses.Sent)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatuses.Pending).SetProperty(j => j.UpdatedAt, now), cancellationToken);
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
    /// Applies an agent's response: RUNNING output goes to the job's followers at once and to the store in batches;
    /// COMPLETED/FAILED end the job. Returns whether the agent may forget the result: it is persisted now, or the job
    /// had already ended (a repeated result).
    /// </summary>
    public async Task<bool> ApplyResponseAsync(string agentId, AgentResponse response, CancellationToken cancellationToken)
    {
        switch (response.Status)
        {
            case JobStatuses.Running:
                await output.AppendAsync(agentId, response.JobId, response.Logs, cancellationToken);
                return false;
            case JobStatuses.Completed or JobStatuses.Failed:
                var result = response.Result is { } r ? r.GetRawText() : null;
                await FinishAsync(response.JobId, agentId, response.Status, response.Logs, response.Error, result, cancellationToken);
                return true;
            default:
                logger.BadAgentMessage(agentId, $"unknown status for job {response.JobId}");
                return false;
        }
    }

    /// <summary>Ends a job the control plane cannot send (e.g. its variables cannot be decrypted) as FAILED.</summary>
    public Task FailAsync(string jobId, string error, CancellationToken cancellationToken) =>
        FinishAsync(jobId, null, JobStatuses.Failed, null, error, null, cancellationToken, neverSent: true);

    /// <summary>
    /// Ends as TIMED_OUT every sent job whose deadline has passed while its agent was connected (<paramref name="connected"/>):
    /// a deadline does not run out while the agent is away through no fault of the job (its time is given back when it
    /// reconnects, see <see cref="ExtendDeadlinesAsync"/>). A sent job whose agent stays away past the job's queue expiry
    /// as well ends TIMED_OUT saying so. Every job still waiting for its offline agent past its queue expiry ends EXPIRED.
    /// Returns how many ended.
    /// </summary>
    public async Task<int> TimeOutExpiredAsync(Func<string, bool> connected, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var overdue = await db.Jobs
            .Where(j => (j.Status == JobStatuses.Sent || j.Status == JobStatuses.Running) && j.TimeoutAt <= now)
            .Select(j => new { j.Id, j.AgentId, j.ExpiresAt })
            .ToListAsync(cancellationToken);
        var ended = 0;
        foreach (var job in overdue)
        {
            if (connected(job.AgentId))
                await FinishAsync(job.Id, null, JobStatuses.TimedOut, null, "no result from the agent before the job's timeout", null, cancellationToken);
            else if (job.ExpiresAt <= now)
                await FinishAsync(job.Id, null, JobStatuses.TimedOut, null, $"agent '{job.AgentId}' went away while the job ran and did not come back before the job's queue expiry; whether it finished is not known", null, cancellationToken);
            else continue;
            ended++;
        }
        var expired = await db.Jobs
            .Where(j => j.Status == JobStatuses.Pending && j.ExpiresAt <= now)
            .Select(j => new { j.Id, j.AgentId })
            .ToListAsync(cancellationToken);
        foreach (var job in expired)
            await FinishAsync(job.Id, null, JobStatuses.Expired, null, $"agent '{job.AgentId}' did not come online before the job's queue expiry; it was never sent", null, cancellationToken);
        return ended + expired.Count;
    }

    /// <summary>
    /// Gives the agent's running jobs back the time it was away (the control plane down, or its connection lost), so a
    /// deadline counts only time the agent could have answered in. Returns how many jobs were given time.
    /// </summary>
    public async Task<int> ExtendDeadlinesAsync(string agentId, TimeSpan away, CancellationToken cancellationToken)
    {
        if (away <= TimeSpan.Zero) return 0;
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var open = await db.Jobs.Where(j => j.AgentId == agentId && (j.Status == JobStatuses.Sent || j.Status == JobStatuses.Running)).ToListAsync(cancellationToken);
        foreach (var job in open) job.TimeoutAt += away;
        await db.SaveChangesAsync(cancellationToken);
        return open.Count;
    }

    private async Task FinishAsync(string jobId, string? agentId, string status, string? logs, string error, string? resultJson, CancellationToken cancellationToken, bool neverSent = false)
    {
        // Read what decides the path outside the write gate (WAL: readers never wait for the writer). Id, agent, type,
        // project, trace and creation time never change, so only the status can be stale, and the update rechecks it.
        var head = await reads.ReadHeadAsync(jobId, cancellationToken);
        // A final result from the job's own agent after its deadline (the agent was slow, or the answer waited in its
        // journal) is what really happened: it is applied, and the job says it arrived late.
        var late = head is { Status: JobStatuses.TimedOut } && agentId is not null && head.AgentId == agentId;
        if (head is null || (agentId is not null && head.AgentId != agentId) || (JobStatuses.IsTerminal(head.Status) && !late))
        {
            if (agentId is not null) logger.UnknownJobResponse(agentId, jobId);
            return;
        }
        JobLogs.Kept? finalLogs = string.IsNullOrEmpty(logs) ? null : JobLogs.Tail(logs, options.Value.MaxJobLogBytes);
        var tracking = _hooks.Where(h => h.Tracks(head.Type, head.ProjectName)).ToArray();
        var finished = tracking.Length == 0
            ? await FinishJobOnlyAsync(jobId, agentId, head, status, finalLogs, error, resultJson, late)
            : await FinishTrackedAsync(jobId, agentId, tracking, status, finalLogs, error, resultJson, neverSent, late, cancellationToken);
        if (finished is null)
        {
            if (agentId is not null) logger.UnknownJobResponse(agentId, jobId);
            return;
        }
        if (late) logger.JobResultLate(jobId, status);
        output.Complete(jobId, finalLogs, status, error);
        events.RaiseFinished(finished);
    }

    /// <summary>The job and what its hooks keep in step with it, in one transaction. On PostgreSQL two ends that touch the
    /// same rows (a revision, a placement) can still collide; the loser tries again with fresh reads, as a creation does.</summary>
    private async Task<FinishedJob?> FinishTrackedAsync(
        string jobId, string? agentId, IJobLifecycleHook[] tracking, string status, JobLogs.Kept? finalLogs, string error, string? resultJson, bool neverSent,
        bool late, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                (FinishedJob Job, TimeSpan Took)? finished;
                if (database.IsPostgres)
                {
                    await using var db = await databases.CreateDbContextAsync(cancellationToken);
                    await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                    finished = await FinishTrackedOnceAsync(db, jobId, agentId, tracking, status, finalLogs, error, resultJson, neverSent, late, cancellationToken);
                    if (finished is not null) await transaction.CommitAsync(cancellationToken);
                }
                else
                {
                    // SQLite: in the group commit, with the other results and tracked writes queued meanwhile.
                    finished = await batcher.RunAsync(db => FinishTrackedOnceAsync(db, jobId, agentId, tracking, status, finalLogs, error, resultJson, neverSent, late, CancellationToken.None));
                }
                if (finished is not { Job: var done, Took: var took }) return null;
                metrics.JobFinished(done.Type, status, took);
                logger.JobFinished(jobId, status, ofProject: done.ProjectName is not null);
                return done;
            }
            catch (DbUpdateException) when (attempt < 5)
            {
            }
        }
    }

    /// <summary>The job's end and its hooks' writes, in the caller's transaction (not committed here).</summary>
    private async Task<(FinishedJob Job, TimeSpan Took)?> FinishTrackedOnceAsync(InstaDeployDbContext db,
        string jobId, string? agentId, IJobLifecycleHook[] tracking, string status, JobLogs.Kept? finalLogs, string error, string? resultJson, bool neverSent,
        bool late, CancellationToken cancellationToken)
    {
        var job = await db.Jobs.FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (job is null || (agentId is not null && job.AgentId != agentId) || (JobStatuses.IsTerminal(job.Status) && !(late && job.Status == JobStatuses.TimedOut)))
            return null;

        ActivityContext.TryParse(job.TraceParent, null, out var parent);
        using var activity = Telemetry.ActivitySource.StartActivity("job result", ActivityKind.Internal, parent);
        TagResult(activity, job.Id, job.Type, job.AgentId, status, error, job.ProjectName);

        var now = time.GetUtcNow();
        job.Status = status;
        // A seed agent sends all output in its one final response; ours streams it first and repeats it all at the end.
        // Without a final output (a timeout), what was streamed is the record.
        if (finalLogs is { } kept) (job.Logs, job.LogLinesDropped) = (kept.Text, kept.DroppedLines);
        else job.Logs = string.Concat(await db.JobOutput.Where(c => c.JobId == jobId).OrderBy(c => c.Seq).Select(c => c.Text).ToListAsync(cancellationToken));
        await db.JobOutput.Where(c => c.JobId == jobId).ExecuteDeleteAsync(cancellationToken);
        job.Error = error;
        job.ResultJson = resultJson;
        job.UpdatedAt = now;
        job.CompletedAt = now;
        job.ArrivedLate = late;

        var ending = new JobEnding(status, resultJson, ReachedAgent: !(agentId is null && (status == JobStatuses.Expired || neverSent)), now);
        foreach (var hook in tracking) await hook.OnFinishingAsync(db, job, ending, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        return (new FinishedJob(job.Id, job.Type, job.AgentId, job.ProjectName, status, error, late), now - job.CreatedAt);
    }

    /// <summary>
    /// Ends a job no hook tracks with one statement, conditional on the job being open (and the answering agent's), so a
    /// result that races a timeout or a repeated answer changes nothing: the same rule as the transaction in
    /// <see cref="FinishTrackedAsync"/>, without its reads inside the write gate, and group-committed with the other job
    /// writes queued at the same time (<see cref="JobWriteBatcher"/>); it returns once committed.
    /// </summary>
    private async Task<FinishedJob?> FinishJobOnlyAsync(string jobId, string? agentId, JobReads.JobHead head, string status, JobLogs.Kept? logs, string error, string? resultJson, bool late)
    {
        var started = DateTimeOffset.UtcNow;
        var now = time.GetUtcNow();
        if (!await batcher.FinishAsync(jobId, agentId, status, logs, error, resultJson, now, late))
            return null; // it ended between the read and the update (a timeout, or the same result twice at once)

        ActivityContext.TryParse(head.TraceParent, null, out var parent);
        using (var activity = Telemetry.ActivitySource.StartActivity("job result", ActivityKind.Internal, parent, startTime: started))
            TagResult(activity, jobId, head.Type, head.AgentId, status, error, head.ProjectName);
        metrics.JobFinished(head.Type, status, now - head.CreatedAt);
        logger.JobFinished(jobId, status, ofProject: head.ProjectName is not null);
        return new FinishedJob(jobId, head.Type, head.AgentId, head.ProjectName, status, error, late);
    }

    private static void TagResult(Activity? activity, string jobId, string type, string agentId, string status, string error, string? project)
    {
        if (activity is null) return;
        activity.SetTag(TelemetryTags.JobId, jobId);
        activity.SetTag(TelemetryTags.CommandType, type);
        activity.SetTag(TelemetryTags.AgentId, agentId);
        activity.SetTag(TelemetryTags.Outcome, status);
        if (project is not null) activity.SetTag(TelemetryTags.Project, project);
        if (status != JobStatuses.Completed) activity.SetStatus(ActivityStatusCode.Error, error);
    }
}
