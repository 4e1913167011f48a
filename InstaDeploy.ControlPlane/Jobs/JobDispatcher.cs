using System.Diagnostics;
using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Hub;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>Creates a job, persists it, and writes its command to the agent's socket.</summary>
public sealed class JobDispatcher(
    JobStore jobs,
    AgentConnectionRegistry registry,
    IOptions<ControlPlaneOptions> options,
    ControlPlaneMetrics metrics,
    ILogger<JobDispatcher> logger)
{
    public async Task<JobEntity> DispatchAsync(string agentId, string type, string? projectName, JsonElement payload, int? timeoutSeconds, CancellationToken cancellationToken)
    {
        using var activity = Telemetry.ActivitySource.StartActivity($"dispatch {type}", ActivityKind.Producer);
        var timeout = TimeSpan.FromSeconds(timeoutSeconds ?? options.Value.JobTimeoutSeconds);
        var traceParent = activity?.Id ?? Activity.Current?.Id;
        var job = await jobs.CreateAsync(type, agentId, projectName, payload.GetRawText(), timeout, traceParent, cancellationToken);
        activity?.SetTag(Telemetry.Tags.JobId, job.Id);
        activity?.SetTag(Telemetry.Tags.CommandType, type);
        activity?.SetTag(Telemetry.Tags.AgentId, agentId);
        if (projectName is not null) activity?.SetTag(Telemetry.Tags.Project, projectName);

        var command = new AgentCommand { Id = job.Id, Type = type, Payload = payload, TraceParent = traceParent, TimeoutSeconds = (int)timeout.TotalSeconds };
        if (!registry.TryGet(agentId, out var connection))
        {
            const string reason = "the agent disconnected before the command could be sent";
            await jobs.FailAsync(job.Id, reason, cancellationToken);
            logger.JobSendFailed(job.Id, agentId, reason);
            job.Status = JobStatuses.Failed;
            job.Error = reason;
            return job;
        }

        try
        {
            var bytes = WireJson.Serialize(command);
            // Not the request's token: cancelling a WebSocket send aborts the whole socket, so a client that hangs up
            // would cut the agent off. A send that cannot finish in time fails this job only.
            using var sendTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await connection.SendAsync(bytes, sendTimeout.Token);
            metrics.MessageOut(bytes.Length);
            metrics.JobDispatched(type);
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            var reason = $"the agent's connection failed while sending the command: {e.Message}";
            await jobs.FailAsync(job.Id, reason, CancellationToken.None);
            logger.JobSendFailed(job.Id, agentId, reason);
            job.Status = JobStatuses.Failed;
            job.Error = reason;
            return job;
        }

        await jobs.MarkSentAsync(job.Id, CancellationToken.None);
        job.Status = JobStatuses.Sent;
        logger.JobSent(job.Id, type, projectName, agentId);
        return job;
    }
}
