using System.Diagnostics;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;

namespace InstaDeploy.ControlPlane.Jobs.Delivery;

/// <summary>
/// Gets jobs to their agents: at once when the agent is connected, else when it connects (a job for an offline agent
/// waits, until its queue expiry). Delivery is at least once: after a reconnect, every open job the agent does not
/// report as running or finished is sent again, and the agent runs a job id at most once.
/// </summary>
public sealed class JobDispatcher(
    JobStore jobs,
    IAgentLinks links,
    IEnumerable<ICommandWriter> writers,
    ControlPlaneMetrics metrics,
    ILogger<JobDispatcher> logger)
{
    private readonly Dictionary<string, ICommandWriter> _writers = writers.ToDictionary(w => w.CommandType, StringComparer.Ordinal);

    /// <summary>Stores the job (claimed for the send when its agent is connected) and sends it; returns it as stored,
    /// PENDING when it waits for its agent.</summary>
    public async Task<JobEntity> DispatchAsync(JobDraft draft, CancellationToken cancellationToken)
    {
        using var activity = Telemetry.ActivitySource.StartActivity($"dispatch {draft.Type}", ActivityKind.Producer);
        // A job for a connected agent is stored already claimed (SENT), so one write, not two, precedes the send.
        var connected = links.TryGet(draft.AgentId, out var link);
        draft.TraceParent = activity?.Id ?? Activity.Current?.Id;
        draft.ClaimForSend = connected;
        var job = await jobs.CreateAsync(draft, cancellationToken);
        activity?.SetTag(TelemetryTags.JobId, job.Id);
        activity?.SetTag(TelemetryTags.CommandType, job.Type);
        activity?.SetTag(TelemetryTags.AgentId, job.AgentId);
        if (job.ProjectName is not null) activity?.SetTag(TelemetryTags.Project, job.ProjectName);

        if (!connected)
        {
            logger.JobQueued(job.Id, job.Type, job.AgentId);
            return job; // PENDING: sent when the agent connects, or EXPIRED
        }
        if (!await SendAsync(link!, job, claimed: true)) job.Status = JobStatuses.Pending; // unclaimed: waits for the next connection
        return job;
    }

    /// <summary>
    /// Sends the agent's open jobs, oldest first, after it connected. With <paramref name="state"/> (an agent that
    /// remembers jobs), jobs sent before are sent again unless the agent runs them or holds their results; without it
    /// (a seed agent, which could run a job twice), only jobs never sent are.
    /// </summary>
    public async Task DeliverOpenJobsAsync(IAgentLink link, AgentStateMessage? state, CancellationToken cancellationToken)
    {
        var known = state is null ? null : new HashSet<string>(state.Running.Concat(state.Results), StringComparer.Ordinal);
        foreach (var job in await jobs.OpenJobsAsync(link.AgentId, cancellationToken))
        {
            var resend = job.Status != JobStatuses.Pending;
            if (resend && (known is null || known.Contains(job.Id))) continue;
            if (resend) logger.JobResent(job.Id, link.AgentId);
            if (!await SendAsync(link, job, claimed: false)) return; // the connection failed; the next connect delivers the rest
        }
    }

    /// <summary>
    /// Writes the job's command to the agent. A job never sent is claimed first (PENDING -> SENT), so two senders never
    /// both send it, unless <paramref name="claimed"/> says it was stored claimed; false if the link failed (a job
    /// claimed for this send then goes back to PENDING and waits for the next connection).
    /// </summary>
    private async Task<bool> SendAsync(IAgentLink link, JobEntity job, bool claimed)
    {
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
        try
        {
            var bytes = WireJson.SerializeCommand(job.Id, job.Type, payload.Json!, job.TraceParent, job.TimeoutSeconds);
            // Not the request's token: cancelling a WebSocket send aborts the whole socket, so a client that hangs up
            // would cut the agent off. A send that cannot finish in time leaves the job for the next connection.
            using var sendTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await link.SendAsync(bytes, sendTimeout.Token);
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
