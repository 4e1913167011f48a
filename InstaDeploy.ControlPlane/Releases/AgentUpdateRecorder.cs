using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs;

namespace InstaDeploy.ControlPlane.Releases;

/// <summary>How an agent's last update ended, shown on the agent.</summary>
/// <param name="JobId">The UPDATE_AGENT job (its logs and error in full: GET /jobs/{id}).</param>
/// <param name="Version">The release it was to.</param>
/// <param name="PreviousVersion">The version that ran before.</param>
/// <param name="Outcome">updated, rolled_back (the launcher started the previous version again), refused (nothing changed) or failed (timed out, expired).</param>
/// <param name="Reason">Why it did not work; empty when it did.</param>
/// <param name="FinishedAt">When the job ended.</param>
public sealed record AgentUpdateDto(string JobId, string Version, string PreviousVersion, string Outcome, string Reason, DateTimeOffset FinishedAt)
{
    public static AgentUpdateDto Of(AgentUpdateEntity row) => new(row.JobId, row.ToVersion, row.FromVersion, row.Outcome, row.Reason, row.FinishedAt);
}

/// <summary>
/// Records, in the transaction that ends an UPDATE_AGENT job, how the agent's update ended: the outcome the agent put
/// into the job's result (the new version's confirmation, or the previous version reporting its launcher's rollback),
/// else the job's own end (timed out, expired). The rollout target carries the same error; this is the agent's side.
/// </summary>
public sealed class AgentUpdateRecorder : IJobLifecycleHook
{
    private const int MaxReason = 2000;

    public bool Tracks(string type, string? projectName) => type == CommandTypes.UpdateAgent;

    public Task OnCreatingAsync(InstaDeployDbContext db, JobDraft draft, JobEntity job, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task OnFinishingAsync(InstaDeployDbContext db, JobEntity job, JobEnding ending, CancellationToken cancellationToken)
    {
        if (job.Type != CommandTypes.UpdateAgent) return;
        var (outcome, version, previous) = Read(ending.ResultJson);
        version ??= Read(job.PayloadJson, "version");
        previous ??= (await db.Agents.FindAsync([job.AgentId], cancellationToken))?.Version;
        outcome = ending.Status == JobStatuses.Completed ? AgentUpdateOutcomes.Updated
            : outcome is AgentUpdateOutcomes.RolledBack or AgentUpdateOutcomes.Refused ? outcome
            : AgentUpdateOutcomes.Failed;
        var reason = outcome == AgentUpdateOutcomes.Updated ? "" : ending.Status == JobStatuses.Failed ? job.Error : $"{ending.Status}: {job.Error}";
        if (reason.Length > MaxReason) reason = reason[..MaxReason];
        var row = await db.AgentUpdates.FindAsync([job.AgentId], cancellationToken);
        if (row is null)
        {
            row = new AgentUpdateEntity { AgentId = job.AgentId, JobId = job.Id, Outcome = outcome };
            db.AgentUpdates.Add(row);
        }
        row.JobId = job.Id;
        row.Outcome = outcome;
        row.ToVersion = AgentLabels.Shown(version ?? "");
        row.FromVersion = AgentLabels.Shown(previous ?? "");
        row.Reason = reason;
        row.FinishedAt = ending.Now;
    }

    private static (string? Outcome, string? Version, string? Previous) Read(string? resultJson) =>
        (Read(resultJson, "outcome"), Read(resultJson, "version"), Read(resultJson, "previous_version"));

    /// <summary>A string property of a JSON object, cut to a version's length; null when absent or not JSON.</summary>
    private static string? Read(string? json, string property)
    {
        if (string.IsNullOrEmpty(json)) return null;
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString() is { Length: > 64 } longer ? longer[..64] : value.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
