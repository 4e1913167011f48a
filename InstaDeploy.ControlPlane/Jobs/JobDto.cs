using System.Text.Json;
using InstaDeploy.ControlPlane.Data;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>A job as the REST API shows it.</summary>
/// <param name="JobId">The job's id.</param>
/// <param name="Type">The command type, e.g. DEPLOY_COMPOSE.</param>
/// <param name="AgentId">The agent that runs it.</param>
/// <param name="ProjectName">The project it concerns, if any.</param>
/// <param name="Status">PENDING (not yet sent, e.g. waiting for an offline agent), SENT, RUNNING, COMPLETED, FAILED, TIMED_OUT or EXPIRED.</param>
/// <param name="Logs">The output so far (all of it once the job has ended).</param>
/// <param name="Error">Why the job failed; empty otherwise.</param>
/// <param name="Result">Structured result from the agent (e.g. STATUS's containers), or null.</param>
/// <param name="CreatedAt">When the job was created.</param>
/// <param name="UpdatedAt">When the job last changed.</param>
/// <param name="CompletedAt">When the job ended, or null while it runs.</param>
/// <param name="ArrivedLate">Its result came from the agent after the job had timed out, and replaced the TIMED_OUT.</param>
public sealed record JobDto(
    string JobId, string Type, string AgentId, string? ProjectName, string Status, string Logs, string Error,
    JsonElement? Result, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? CompletedAt, bool ArrivedLate = false);

/// <summary>A job in a list: everything but its output and result (GET /jobs/{job_id} has those).</summary>
/// <param name="JobId">The job's id.</param>
/// <param name="Type">The command type.</param>
/// <param name="AgentId">The agent that runs it.</param>
/// <param name="ProjectName">The project it concerns, if any.</param>
/// <param name="Status">PENDING, SENT, RUNNING, COMPLETED, FAILED, TIMED_OUT or EXPIRED.</param>
/// <param name="Error">Why the job failed; empty otherwise.</param>
/// <param name="CreatedAt">When the job was created.</param>
/// <param name="UpdatedAt">When the job last changed.</param>
/// <param name="CompletedAt">When the job ended, or null while it runs.</param>
public sealed record JobSummaryDto(
    string JobId, string Type, string AgentId, string? ProjectName, string Status, string Error,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? CompletedAt);

/// <summary>What a command request answers with (HTTP 202): follow the job at <c>GET /jobs/{job_id}</c>.</summary>
/// <param name="JobId">The new job's id.</param>
/// <param name="AgentId">The agent it was sent to.</param>
/// <param name="Status">SENT when written to the agent; PENDING when the agent is offline and the job waits for it.</param>
public sealed record JobAccepted(string JobId, string AgentId, string Status);

internal static class JobMapping
{
    public static JobDto ToDto(this JobEntity job) => new(
        job.Id, job.Type, job.AgentId, job.ProjectName, job.Status, job.Logs, job.Error,
        job.ResultJson is null ? null : JsonElement.Parse(job.ResultJson),
        job.CreatedAt, job.UpdatedAt, job.CompletedAt, job.ArrivedLate);

    public static JobAccepted ToAccepted(this JobEntity job) => new(job.Id, job.AgentId, job.Status);
}
