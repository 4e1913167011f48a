using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Jobs.Submission;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>What to read of a project's container logs: the last <see cref="Tail"/> lines of each container, newer than
/// <see cref="Since"/>, of one <see cref="Service"/>, with timestamps; with <see cref="FollowSeconds"/>, new lines for that long.</summary>
public sealed record ContainerLogsQuery(int? Tail = null, string? Since = null, string? Service = null, bool Timestamps = false, int? FollowSeconds = null);

/// <summary>
/// The LOGS job that reads a project's container logs on one agent (the compose plugin runs <c>docker logs</c> for each of
/// its containers), built one way for GET /deployments/{project}/logs and the console's merged view of every agent.
/// </summary>
public static class ContainerLogs
{
    public const int DefaultTail = 100;
    public const int MaxTail = 10_000;
    public const int MaxFollowSeconds = 3600;

    /// <summary>Most LOGS jobs an agent may have open at once: log streams held open by readers never crowd out deploys
    /// (which count against INSTADEPLOY_MAX_OPEN_JOBS_PER_AGENT too).</summary>
    public const int MaxOpenLogJobsPerAgent = 16;

    /// <summary>How long a LOGS job without follow may take.</summary>
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Why the query cannot be read, naming the field; null when it can.</summary>
    public static CommandRefusal? Validate(string projectName, ContainerLogsQuery query)
    {
        if (DeployService.ValidateProject(projectName) is { } invalid) return invalid;
        if (query.Tail is < 0 or > MaxTail) return CommandRefusal.Invalid("tail", $"must be between 0 and {MaxTail}");
        if (query.Since is not null && !LogsSince.IsValid(query.Since)) return CommandRefusal.Invalid("since", $"'{query.Since}' is not {LogsSince.Description}");
        if (query.Service is not null && !ProjectNames.IsValid(query.Service)) return CommandRefusal.Invalid("service", "is not a compose service name (letters, digits, '_' or '-')");
        if (query.FollowSeconds is < 1 or > MaxFollowSeconds) return CommandRefusal.Invalid("follow_seconds", $"must be between 1 and {MaxFollowSeconds}");
        return null;
    }

    /// <summary>The LOGS job for the project on <paramref name="agentId"/> (or the one agent it is placed on): never queued
    /// for an offline agent, at most <see cref="MaxOpenLogJobsPerAgent"/> open per agent.</summary>
    public static JobRequest Request(string projectName, string? agentId, ContainerLogsQuery query)
    {
        var payload = new LogsPayload
        {
            ProjectName = projectName,
            Tail = query.Tail ?? DefaultTail,
            Timestamps = query.Timestamps,
            Since = query.Since,
            Service = query.Service,
            FollowSeconds = query.FollowSeconds,
        };
        return new JobRequest
        {
            Type = CommandTypes.Logs,
            ProjectName = projectName,
            AgentId = agentId,
            ChooseByProject = true,
            WaitIfOffline = false,
            TimeoutSeconds = query.FollowSeconds is { } seconds ? seconds + 30 : (int)ReadTimeout.TotalSeconds,
            QueueTtlSeconds = 30,
            OpenOfTypeLimit = new TypeLimit(MaxOpenLogJobsPerAgent, "Too many log streams",
                $"Agent '{{0}}' already has {{1}} container-log reads open (at most {MaxOpenLogJobsPerAgent}); retry when a follow ends, or use a shorter follow_seconds."),
            Body = (_, _) => ValueTask.FromResult(CommandBody.Of(payload, CommandPayloadJson.Logs)),
        };
    }
}
