using InstaDeploy.ControlPlane.Jobs.Delivery;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Jobs.Submission;

/// <summary>
/// The one path from "a command was asked for" to "a job exists and is on its way": checks the timeout and queue
/// expiry, chooses the agent, checks what it runs and what it speaks, checks its capacity, creates the job and
/// dispatches it. Every endpoint that sends a command (deploy, rollback, stop, status, logs, health, plugin commands)
/// comes through here and only turns the result into HTTP; so does every fan-out that sends to many agents.
/// </summary>
public sealed class CommandSubmitter(
    AgentChooser chooser,
    JobReads reads,
    JobDispatcher dispatcher,
    IAgentLinks links,
    Audit.AuditLog audit,
    IOptions<ControlPlaneOptions> options)
{
    /// <summary>The longest job timeout accepted, in seconds.</summary>
    public const int MaxTimeoutSeconds = 86_400;

    /// <summary>The longest queue expiry accepted, in seconds.</summary>
    public const int MaxQueueTtlSeconds = 30 * 86_400;

    public async Task<Submission> SubmitAsync(JobRequest request, CancellationToken cancellationToken)
    {
        var submission = await SubmitUnauditedAsync(request, cancellationToken);
        if (request.Audit is { } recorded) await audit.RecordSubmissionAsync(recorded.Actor, recorded.Action, recorded.Target, submission, recorded.Summary);
        return submission;
    }

    private async Task<Submission> SubmitUnauditedAsync(JobRequest request, CancellationToken cancellationToken)
    {
        if (ValidateTimeout(request.TimeoutSeconds) is { } badTimeout) return badTimeout;
        if (ValidateQueueTtl(request.QueueTtlSeconds) is { } badTtl) return badTtl;

        var (agentId, unavailable) = await chooser.ChooseAsync(request.AgentId, request.ChooseByProject ? request.ProjectName : null, request.WaitIfOffline, cancellationToken);
        if (unavailable is not null) return unavailable;

        if (request.RequirePluginForType && await chooser.CommandTypesAsync(agentId!, cancellationToken) is { } known && !known.Contains(request.Type))
            return CommandRefusal.BadRequest("Unknown command type",
                $"Agent '{agentId}' has no plugin for {request.Type}; it runs: {(known.Count == 0 ? "(nothing)" : string.Join(", ", known))}.");

        var limit = options.Value.MaxOpenJobsPerAgent;
        var open = await reads.CountOpenJobsAsync(agentId!, cancellationToken);
        if (open >= limit)
            return CommandRefusal.TooMany("Too many jobs for this agent",
                $"Agent '{agentId}' already has {open} jobs waiting or running (INSTADEPLOY_MAX_OPEN_JOBS_PER_AGENT is {limit}); retry when some have finished.");
        if (request.OpenOfTypeLimit is { } typeLimit
            && await reads.CountOpenJobsAsync(agentId!, cancellationToken, request.Type) is var ofType && ofType >= typeLimit.Max)
            return CommandRefusal.TooMany(typeLimit.Title, string.Format(System.Globalization.CultureInfo.InvariantCulture, typeLimit.Detail, agentId, ofType));

        var body = await request.Body(agentId!, cancellationToken);
        if (body.Refusal is { } refused) return refused;
        if (body.RequiredFeature is { } required && links.TryGet(agentId!, out var link) && !link.Capabilities.Has(required.Feature))
            return required.IfMissing;

        var job = await dispatcher.DispatchAsync(new JobDraft
        {
            Type = request.Type,
            AgentId = agentId!,
            ProjectName = request.ProjectName,
            Payload = body.Payload!,
            PayloadType = body.PayloadType!,
            TimeoutSeconds = request.TimeoutSeconds ?? options.Value.JobTimeoutSeconds,
            QueueTtl = TimeSpan.FromSeconds(request.QueueTtlSeconds ?? options.Value.QueueTtlSeconds),
            SecretsProtected = body.SecretsProtected,
            HookState = body.HookState,
        }, cancellationToken);
        return new Submission(job, null);
    }

    /// <summary>A job's timeout must be 1 s to a day.</summary>
    public static CommandRefusal? ValidateTimeout(int? timeoutSeconds) =>
        timeoutSeconds is < 1 or > MaxTimeoutSeconds ? CommandRefusal.Invalid("timeout_seconds", $"must be between 1 and {MaxTimeoutSeconds}") : null;

    /// <summary>A queue expiry must be 1 s to 30 days.</summary>
    public static CommandRefusal? ValidateQueueTtl(int? queueTtlSeconds) =>
        queueTtlSeconds is < 1 or > MaxQueueTtlSeconds ? CommandRefusal.Invalid("queue_ttl_seconds", $"must be between 1 and {MaxQueueTtlSeconds} (30 days)") : null;
}
