using System.Collections.Concurrent;
using System.Diagnostics;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;

namespace InstaDeploy.ControlPlane.Jobs.Delivery;

/// <summary>
/// Gets jobs to their agents, in the order they were created: each connected agent has one ordered send queue
/// (<see cref="AgentOutbox"/>), its only writer. A job for a connected agent is stored already claimed and queued; one
/// for an offline agent waits (until its queue expiry) and goes first when the agent connects. Delivery is at least
/// once: after a reconnect, every open job the agent does not report as running or finished is sent again, and the
/// agent runs a job id at most once. Jobs of one agent are created one at a time, so two concurrent requests for one
/// project reach the agent in the order they were stored.
/// </summary>
public sealed class JobDispatcher(
    JobStore jobs,
    IEnumerable<ICommandWriter> writers,
    ControlPlaneMetrics metrics,
    TimeProvider time,
    Cluster.ClusterSignals cluster,
    ILogger<JobDispatcher> logger)
{
    private readonly Dictionary<string, ICommandWriter> _writers = writers.ToDictionary(w => w.CommandType, StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AgentOutbox> _outboxes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _creation = new(StringComparer.Ordinal);

    /// <summary>Stores the job (claimed for the send when its agent takes new jobs now) and queues it; returns it as
    /// stored: SENT when it is on its way, PENDING when it waits for its agent.</summary>
    public async Task<JobEntity> DispatchAsync(JobDraft draft, CancellationToken cancellationToken)
    {
        using var activity = Telemetry.ActivitySource.StartActivity($"dispatch {draft.Type}", ActivityKind.Producer);
        draft.TraceParent = activity?.Id ?? Activity.Current?.Id;
        var gate = CreationGate(draft.AgentId);
        await gate.WaitAsync(cancellationToken);
        JobEntity job;
        var unclaimed = false;
        try
        {
            // One write, not two, precedes the send: a job for an agent that takes jobs now is stored claimed (SENT).
            var outbox = _outboxes.TryGetValue(draft.AgentId, out var found) && found.Live ? found : null;
            draft.ClaimForSend = outbox is not null;
            job = await jobs.CreateAsync(draft, cancellationToken);
            if (outbox is not null && !outbox.TryEnqueue(new AgentOutbox.Item(job, Claimed: true, Retry: false)))
            {
                await jobs.UnclaimAsync(job.Id, CancellationToken.None); // closed between the check and now: waits for the next connection
                job.Status = JobStatuses.Pending;
                unclaimed = true;
            }
        }
        finally
        {
            gate.Release();
        }
        activity?.SetTag(TelemetryTags.JobId, job.Id);
        activity?.SetTag(TelemetryTags.CommandType, job.Type);
        activity?.SetTag(TelemetryTags.AgentId, job.AgentId);
        if (job.ProjectName is not null) activity?.SetTag(TelemetryTags.Project, job.ProjectName);
        if (job.Status == JobStatuses.Pending)
        {
            logger.JobQueued(job.Id, job.Type, job.AgentId);
            // The agent may be connected to another instance: a job stored waiting woke it at its commit; one unclaimed
            // here (its connection closed meanwhile) wakes it now.
            if (unclaimed) await cluster.NotifyJobWaitingAsync(job, cancellationToken);
        }
        return job;
    }

    /// <summary>
    /// A connection of the agent began: its running jobs get back the time it was away (<paramref name="away"/>), and its
    /// queue starts. A seed agent is sent what waits at once; an agent that remembers jobs after its AGENT_STATE.
    /// </summary>
    public async Task AttachAsync(IAgentLink link, TimeSpan away, CancellationToken cancellationToken)
    {
        if (away > TimeSpan.Zero) await jobs.ExtendDeadlinesAsync(link.AgentId, away, cancellationToken);
        var outbox = new AgentOutbox(link);
        if (_outboxes.TryGetValue(link.AgentId, out var older)) older.Close(); // the connection this one replaced
        _outboxes[link.AgentId] = outbox;
        _ = Task.Run(() => PumpAsync(outbox), CancellationToken.None);
        if (!link.Capabilities.ReliableDelivery) outbox.Start(null);
    }

    /// <summary>The agent said which jobs it runs and which results it holds: its backlog can go.</summary>
    public void OnAgentState(IAgentLink link, AgentStateMessage state)
    {
        if (_outboxes.TryGetValue(link.AgentId, out var outbox) && ReferenceEquals(outbox.Link, link)) outbox.Start(state);
    }

    /// <summary>The agent is stopping: it is sent nothing new; new jobs wait for its next connection.</summary>
    public void OnAgentStopping(IAgentLink link)
    {
        if (_outboxes.TryGetValue(link.AgentId, out var outbox) && ReferenceEquals(outbox.Link, link)) outbox.StopTakingJobs();
    }

    /// <summary>The connection ended: its queue closes, and what it had not sent goes back to waiting.</summary>
    public void Detach(IAgentLink link)
    {
        if (_outboxes.TryGetValue(link.AgentId, out var outbox) && ReferenceEquals(outbox.Link, link))
        {
            _outboxes.TryRemove(new KeyValuePair<string, AgentOutbox>(link.AgentId, outbox));
            outbox.Close();
        }
    }

    /// <summary>
    /// Sends again what is due to connected agents: jobs left waiting (a send that failed, a job stored while the agent
    /// attached) and, to an agent that remembers jobs, sent jobs that have shown no progress (it answers a repeat from its
    /// journal, or ignores it while the job runs). Returns how many were queued.
    /// </summary>
    public int RequeueDue(IEnumerable<JobEntity> due)
    {
        var queued = 0;
        foreach (var job in due)
        {
            if (!_outboxes.TryGetValue(job.AgentId, out var outbox) || !outbox.Live) continue;
            if (job.Status != JobStatuses.Pending && !outbox.Link.Capabilities.ReliableDelivery) continue; // a seed agent could run it twice
            if (outbox.TryEnqueue(new AgentOutbox.Item(job, Claimed: false, Retry: job.Status != JobStatuses.Pending))) queued++;
        }
        return queued;
    }

    /// <summary>The agents with a connection attached: their running jobs have been given back the time they were away
    /// (stored before the attach). A connection is registered before that, so a deadline checked against the registry
    /// alone can run out in between.</summary>
    public IReadOnlySet<string> AttachedAgents() =>
        _outboxes.Where(o => !o.Value.Closed).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);

    /// <summary>Queues a job claimed for this send by another path (<see cref="JobStore.ClaimAnnouncedAsync"/>); false
    /// when the agent's connection here does not take jobs now (the caller unclaims it).</summary>
    public bool EnqueueClaimed(JobEntity job) =>
        _outboxes.TryGetValue(job.AgentId, out var outbox) && outbox.Live && outbox.TryEnqueue(new AgentOutbox.Item(job, Claimed: true, Retry: false));

    /// <summary>Whether the agent takes new jobs now.</summary>
    public bool TakesJobs(string agentId) => _outboxes.TryGetValue(agentId, out var outbox) && outbox.Live;

    private SemaphoreSlim CreationGate(string agentId) => _creation.GetOrAdd(agentId, _ => new SemaphoreSlim(1, 1));

    /// <summary>The one sender of one connection: the backlog, then each queued job in order.</summary>
    private async Task PumpAsync(AgentOutbox outbox)
    {
        var link = outbox.Link;
        try
        {
            var state = await outbox.Started;
            if (outbox.Closed) return;
            if (!await DeliverBacklogAsync(outbox, state)) return;

            // Go live with no gap: jobs stored while the backlog went out waited (PENDING); under the creation gate, so
            // none is stored meanwhile, send those, then take new jobs straight into the queue.
            var gate = CreationGate(link.AgentId);
            await gate.WaitAsync();
            try
            {
                foreach (var job in await jobs.OpenJobsAsync(link.AgentId, CancellationToken.None))
                    if (job.Status == JobStatuses.Pending && !await SendAsync(outbox, job, claimed: false)) return;
                if (!outbox.Closed) outbox.GoLive();
            }
            finally
            {
                gate.Release();
            }

            await foreach (var item in outbox.Queue.ReadAllAsync())
            {
                if (!item.Retry && item.Claimed && outbox.WasSent(item.Job.Id)) continue;
                if (!await SendAsync(outbox, item.Job, item.Claimed)) break;
            }
        }
        catch (Exception e)
        {
            logger.AgentMessageFailed(e, link.AgentId);
        }
        finally
        {
            // Jobs queued but never written go back to waiting, for the next connection (or another sender).
            outbox.Close();
            while (outbox.Queue.TryRead(out var left))
                if (left.Claimed) await jobs.UnclaimAsync(left.Job.Id, CancellationToken.None);
        }
    }

    /// <summary>
    /// After a connect: the agent's open jobs, oldest first. With <paramref name="state"/> (an agent that remembers jobs),
    /// jobs sent before are sent again unless the agent runs them or holds their results; without it (a seed agent, which
    /// could run a job twice), only jobs never sent are. False if the connection failed.
    /// </summary>
    private async Task<bool> DeliverBacklogAsync(AgentOutbox outbox, AgentStateMessage? state)
    {
        var link = outbox.Link;
        var known = state is null ? null : new HashSet<string>(state.Running.Concat(state.Results), StringComparer.Ordinal);
        foreach (var job in await jobs.OpenJobsAsync(link.AgentId, CancellationToken.None))
        {
            var resend = job.Status != JobStatuses.Pending;
            if (resend && (known is null || known.Contains(job.Id))) continue;
            if (resend) logger.JobResent(job.Id, link.AgentId);
            if (!await SendAsync(outbox, job, claimed: false)) return false;
        }
        return true;
    }

    /// <summary>
    /// Writes the job's command to the agent. A job never sent is claimed first (PENDING -> SENT), so two senders never
    /// both send it, unless <paramref name="claimed"/> says it was stored claimed; false if the link failed (a job
    /// claimed for this send then goes back to PENDING and waits for the next connection). A job sent again carries the
    /// time it has left, so the agent and the control plane agree on its deadline.
    /// </summary>
    private async Task<bool> SendAsync(AgentOutbox outbox, JobEntity job, bool claimed)
    {
        var link = outbox.Link;
        var firstSend = claimed || job.Status == JobStatuses.Pending;
        if (!claimed && firstSend && !await jobs.TryClaimForSendAsync(job.Id, job.TimeoutSeconds, CancellationToken.None))
            return true; // another sender has it, or it has ended
        ActivityContext.TryParse(job.TraceParent, null, out var parent);
        using var activity = Activity.Current is null && job.TraceParent is not null
            ? Telemetry.ActivitySource.StartActivity($"deliver {job.Type}", ActivityKind.Producer, parent)
            : null;

        var payload = _writers.TryGetValue(job.Type, out var writer) ? writer.Write(job, link.Capabilities) : WirePayload.Send(job.PayloadJson);
        if (payload.Refusal is { } refusal)
        {
            logger.JobSendFailed(job.Id, link.AgentId, "it cannot be sent to this agent; the job fails");
            job.Status = JobStatuses.Failed;
            await jobs.FailAsync(job.Id, refusal, CancellationToken.None);
            return true;
        }
        var timeout = firstSend ? job.TimeoutSeconds : Math.Max(1, (int)Math.Ceiling((job.TimeoutAt - time.GetUtcNow()).TotalSeconds));
        try
        {
            var bytes = WireJson.SerializeCommand(job.Id, job.Type, payload.Json!, job.TraceParent, timeout);
            // Not a request's token: cancelling a WebSocket send aborts the whole socket. A send that cannot finish in
            // time leaves the job for the next connection (or the next retry).
            using var sendTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await link.SendAsync(bytes, sendTimeout.Token);
            outbox.MarkSent(job.Id);
            metrics.MessageOut(bytes.Length);
            metrics.JobDispatched(job.Type);
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            logger.JobSendFailed(job.Id, link.AgentId, $"{e.Message}; it is sent again when the agent reconnects");
            if (firstSend) await jobs.UnclaimAsync(job.Id, CancellationToken.None);
            return false;
        }

        logger.JobSent(job.Id, job.Type, job.ProjectName, link.AgentId);
        return true;
    }
}
