using System.Diagnostics;
using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Hub;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>
/// Creates jobs and gets them to their agents: at once when the agent is connected, else when it connects (a job for
/// an offline agent waits, until its queue expiry). Delivery is at least once: after a reconnect, every open job the
/// agent does not report as running or finished is sent again, and the agent runs a job id at most once.
/// </summary>
public sealed class JobDispatcher(
    JobStore jobs,
    AgentConnectionRegistry registry,
    IOptions<ControlPlaneOptions> options,
    ControlPlaneMetrics metrics,
    Deployments.VariableProtector variables,
    ILogger<JobDispatcher> logger)
{
    /// <summary>Payload field, stored only: a deploy's variables as one Data Protection payload. Replaced by the clear
    /// <c>env</c> list only in the command written to the agent's (TLS) socket, so the database never holds them in clear.</summary>
    public const string ProtectedEnv = "env_protected";

    /// <summary>429 when the agent already has as many open jobs as INSTADEPLOY_MAX_OPEN_JOBS_PER_AGENT allows, else null.</summary>
    public async Task<Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult?> CheckCapacityAsync(string agentId, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxOpenJobsPerAgent;
        var open = await jobs.CountOpenJobsAsync(agentId, cancellationToken);
        return open < limit
            ? null
            : TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many jobs for this agent",
                detail: $"Agent '{agentId}' already has {open} jobs waiting or running (INSTADEPLOY_MAX_OPEN_JOBS_PER_AGENT is {limit}); retry when some have finished.");
    }

    public async Task<JobEntity> DispatchAsync(
        string agentId, string type, string? projectName, JsonElement payload, int? timeoutSeconds, int? queueTtlSeconds, CancellationToken cancellationToken,
        RevisionEntity? revision = null)
    {
        using var activity = Telemetry.ActivitySource.StartActivity($"dispatch {type}", ActivityKind.Producer);
        var traceParent = activity?.Id ?? Activity.Current?.Id;
        // A job for a connected agent is stored already claimed (SENT), so one write, not two, precedes the send.
        var connected = registry.TryGet(agentId, out var connection);
        var job = await jobs.CreateAsync(type, agentId, projectName, payload.GetRawText(),
            timeoutSeconds ?? options.Value.JobTimeoutSeconds,
            TimeSpan.FromSeconds(queueTtlSeconds ?? options.Value.QueueTtlSeconds),
            traceParent, claimForSend: connected, cancellationToken, revision);
        activity?.SetTag(Telemetry.Tags.JobId, job.Id);
        activity?.SetTag(Telemetry.Tags.CommandType, type);
        activity?.SetTag(Telemetry.Tags.AgentId, agentId);
        if (projectName is not null) activity?.SetTag(Telemetry.Tags.Project, projectName);

        if (!connected)
        {
            logger.JobQueued(job.Id, type, agentId);
            return job; // PENDING: sent when the agent connects, or EXPIRED
        }
        if (!await SendAsync(connection, job, claimed: true)) job.Status = JobStatuses.Pending; // unclaimed: waits for the next connection
        return job;
    }

    /// <summary>
    /// Sends the agent's open jobs, oldest first, after it connected. With <paramref name="state"/> (an agent that
    /// remembers jobs), jobs sent before are sent again unless the agent runs them or holds their results; without it
    /// (a seed agent, which could run a job twice), only jobs never sent are.
    /// </summary>
    public async Task DeliverOpenJobsAsync(AgentConnection connection, AgentStateMessage? state, CancellationToken cancellationToken)
    {
        var known = state is null ? null : new HashSet<string>(state.Running.Concat(state.Results), StringComparer.Ordinal);
        foreach (var job in await jobs.OpenJobsAsync(connection.AgentId, cancellationToken))
        {
            var resend = job.Status != JobStatuses.Pending;
            if (resend && (known is null || known.Contains(job.Id))) continue;
            if (resend) logger.JobResent(job.Id, connection.AgentId);
            if (!await SendAsync(connection, job, claimed: false)) return; // the connection failed; the next connect delivers the rest
        }
    }

    /// <summary>
    /// Writes the job's command to the socket. A job never sent is claimed first (PENDING -> SENT), so two senders never
    /// both send it, unless <paramref name="claimed"/> says it was stored claimed; false if the socket failed (a job
    /// claimed for this send then goes back to PENDING and waits for the next connection).
    /// </summary>
    private async Task<bool> SendAsync(AgentConnection connection, JobEntity job, bool claimed)
    {
        var firstSend = claimed || job.Status == JobStatuses.Pending;
        if (!claimed && firstSend && !await jobs.TryClaimForSendAsync(job.Id, job.TimeoutSeconds, CancellationToken.None))
            return true; // another sender has it, or it has ended
        ActivityContext.TryParse(job.TraceParent, null, out var parent);
        using var activity = Activity.Current is null && job.TraceParent is not null
            ? Telemetry.ActivitySource.StartActivity($"deliver {job.Type}", ActivityKind.Producer, parent)
            : null;
        JsonElement payload;
        try
        {
            payload = WirePayload(job);
            if (!connection.ProjectConfig && payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty(DeployPayload.Env, out var env) && env.GetArrayLength() > 0)
            {
                // Queued while the agent was offline, and it came back as a seed-protocol agent: it would ignore the
                // variables and could not redact the secrets, so they are not sent to it.
                job.Status = JobStatuses.Failed;
                await jobs.FailAsync(job.Id, $"agent '{connection.AgentId}' speaks the seed protocol only and would ignore the project's variables; the deploy was not sent. Deploy to an InstaDeploy agent, or remove the project's variables and deploy again.", CancellationToken.None);
                return true;
            }
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            logger.JobSendFailed(job.Id, connection.AgentId, $"its variables cannot be decrypted ({e.Message})");
            job.Status = JobStatuses.Failed;
            await jobs.FailAsync(job.Id, "the deploy's variables cannot be decrypted: the Data Protection key ring (INSTADEPLOY_KEY_RING_DIR) is missing or not the one they were encrypted with. Restore the key ring, or set the project's variables again and redeploy.", CancellationToken.None);
            return true;
        }
        var command = new AgentCommand
        {
            Id = job.Id,
            Type = job.Type,
            Payload = payload,
            TraceParent = job.TraceParent,
            TimeoutSeconds = job.TimeoutSeconds,
        };
        try
        {
            var bytes = WireJson.Serialize(command);
            // Not the request's token: cancelling a WebSocket send aborts the whole socket, so a client that hangs up
            // would cut the agent off. A send that cannot finish in time leaves the job for the next connection.
            using var sendTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await connection.SendAsync(bytes, sendTimeout.Token);
            metrics.MessageOut(bytes.Length);
            metrics.JobDispatched(job.Type);
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            logger.JobSendFailed(job.Id, connection.AgentId, $"{e.Message}; it is sent again when the agent reconnects");
            if (firstSend) await jobs.UnclaimAsync(job.Id, CancellationToken.None);
            return false;
        }

        logger.JobSent(job.Id, job.Type, job.ProjectName, connection.AgentId);
        return true;
    }

    /// <summary>The payload as the agent gets it: a deploy's protected variables decrypted into the <c>env</c> list.</summary>
    private JsonElement WirePayload(JobEntity job)
    {
        var payload = JsonElement.Parse(job.PayloadJson);
        if (job.Type != CommandTypes.DeployCompose || payload.ValueKind != JsonValueKind.Object
            || !payload.TryGetProperty(ProtectedEnv, out var protectedEnv) || protectedEnv.GetString() is not { } snapshot)
            return payload;
        var node = System.Text.Json.Nodes.JsonNode.Parse(job.PayloadJson)!.AsObject();
        node.Remove(ProtectedEnv);
        node[DeployPayload.Env] = new System.Text.Json.Nodes.JsonArray([.. variables.UnprotectSnapshot(snapshot).Select(v =>
            (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject { ["name"] = v.Name, ["value"] = v.Value, ["secret"] = v.Secret })]);
        return JsonSerializer.SerializeToElement(node);
    }
}
