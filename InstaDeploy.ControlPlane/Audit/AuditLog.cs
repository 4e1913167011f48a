using System.Text.Json;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure.Storage;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Audit;

/// <summary>
/// Records who did what. A change the control plane stores in one transaction takes its entry into the same transaction
/// (<see cref="Add"/>), so the two never disagree; a command (its job is created on the submission path) records its entry
/// right after (<see cref="RecordAsync"/>). Summaries are built by the operations themselves from what they accept, with
/// secret values never put in: a secret variable's value, a registry password and a webhook secret do not reach this class.
/// </summary>
public sealed class AuditLog(IDbContextFactory<InstaDeployDbContext> databases, TimeProvider time, StorageHealth storage, ILogger<AuditLog> logger)
{
    private static readonly JsonSerializerOptions SummaryJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, MaxDepth = 8 };

    /// <summary>Most characters of a summary kept; a longer one is cut (it is a summary, not the request).</summary>
    public const int MaxSummaryLength = 4096;

    public AuditEntryEntity Entry(AuditActor actor, string action, string target, string outcome, int status, string detail = "", object? summary = null, string? jobId = null)
    {
        var json = summary is null ? null : JsonSerializer.Serialize(summary, SummaryJson);
        return new AuditEntryEntity
        {
            At = time.GetUtcNow(),
            ActorKind = actor.Kind,
            ActorId = actor.Id,
            ActorName = Cut(actor.Name, 200),
            SourceAddress = actor.Address,
            Action = action,
            Target = Cut(target, 600),
            Outcome = outcome,
            Status = status,
            Detail = Cut(detail, 2000),
            Summary = json is null ? null : Cut(json, MaxSummaryLength),
            JobId = jobId,
        };
    }

    /// <summary>Adds the entry to <paramref name="db"/>: it is stored with the caller's own change, or not at all.</summary>
    public void Add(InstaDeployDbContext db, AuditActor actor, string action, string target, string outcome, int status, string detail = "", object? summary = null, string? jobId = null)
    {
        db.AuditLog.Add(Entry(actor, action, target, outcome, status, detail, summary, jobId));
        AuditScope.MarkRecorded();
    }

    /// <summary>Stores an entry on its own, for what happened already (a job created, a refusal). A failure to store it is
    /// logged, not thrown: the caller's answer must say what happened to its request, which did happen.</summary>
    public async Task RecordAsync(AuditActor actor, string action, string target, string outcome, int status, string detail = "", object? summary = null, string? jobId = null)
    {
        AuditScope.MarkRecorded();
        var entry = Entry(actor, action, target, outcome, status, detail, summary, jobId);
        try
        {
            // Not the request's token: a client that goes away after its deploy was accepted still leaves its entry.
            await using var db = await databases.CreateDbContextAsync(CancellationToken.None);
            db.AuditLog.Add(entry);
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (Exception e) when (StorageFailure.Classify(e) is { } failure)
        {
            storage.Record("audit log", failure);
            logger.AuditEntryLost(action, target, failure.Kind);
        }
    }

    /// <summary>What a submission's refusal would be answered with.</summary>
    public static int StatusOf(CommandRefusal refusal) => refusal.Kind switch
    {
        RefusalKind.NotFound => 404,
        RefusalKind.Conflict => 409,
        RefusalKind.TooManyRequests => 429,
        RefusalKind.TooLarge => 413,
        _ => 400,
    };

    /// <summary>Records what came of a submission: the job it created, or why it was refused.</summary>
    public Task RecordSubmissionAsync(AuditActor actor, string action, string target, Submission submission, object? summary) =>
        submission.Job is { } job
            ? RecordAsync(actor, action, target.Contains('@') || job.ProjectName is null ? target : $"{target}@{job.AgentId}", AuditOutcomes.Succeeded, 202, $"job {job.Id}", summary, job.Id)
            : RecordAsync(actor, action, target, AuditOutcomes.Refused, StatusOf(submission.Refusal!), DetailOf(submission.Refusal!), summary);

    /// <summary>A refusal in the words the caller got: its title, and the field it names with what is wrong with it.</summary>
    public static string DetailOf(CommandRefusal refusal) =>
        $"{refusal.Title}: {(refusal.Field is { } field ? $"{field}: " : "")}{refusal.Detail}";

    private static string Cut(string text, int max) => text.Length <= max ? text : text[..max] + "…";
}

internal static partial class AuditLogMessages
{
    [LoggerMessage(3101, LogLevel.Error, "The audit entry of {Action} on {Target} could not be stored: the database cannot be used ({Kind})")]
    public static partial void AuditEntryLost(this ILogger logger, string action, string target, string kind);
}
