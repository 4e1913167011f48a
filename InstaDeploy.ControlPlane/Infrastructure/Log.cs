namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>Every log event of the control plane, with stable ids. None takes a token or secret.</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Agent {AgentId} connected (version {Version}, {Architecture}) from {RemoteIp}")]
    public static partial void AgentConnected(this ILogger logger, string agentId, string version, string architecture, string? remoteIp);

    [LoggerMessage(1002, LogLevel.Information, "Agent {AgentId} disconnected: {Reason}")]
    public static partial void AgentDisconnected(this ILogger logger, string agentId, string reason);

    [LoggerMessage(1003, LogLevel.Warning, "Agent connection refused from {RemoteIp}: {Reason}")]
    public static partial void AgentRefused(this ILogger logger, string? remoteIp, string reason);

    [LoggerMessage(1004, LogLevel.Warning, "Agent {AgentId} connected again; closing its older connection")]
    public static partial void AgentReplaced(this ILogger logger, string agentId);

    [LoggerMessage(1005, LogLevel.Warning, "Agent {AgentId} sent a message that is not a valid response: {Reason}")]
    public static partial void BadAgentMessage(this ILogger logger, string agentId, string reason);

    [LoggerMessage(1006, LogLevel.Warning, "Agent {AgentId} answered job {JobId}, which is not an open job of that agent; ignored")]
    public static partial void UnknownJobResponse(this ILogger logger, string agentId, string jobId);

    [LoggerMessage(1008, LogLevel.Warning, "Agent {AgentId} announced labels that are not valid, which were ignored: X-InstaDeploy-Agent-Labels {Reason}")]
    public static partial void AgentLabelsRefused(this ILogger logger, string agentId, string reason);

    [LoggerMessage(EventId = 2001, Message = "Job {JobId} ({Type}) for project {Project} sent to agent {AgentId}")]
    private static partial void JobSent(this ILogger logger, LogLevel level, string jobId, string type, string? project, string agentId);

    /// <summary>Information for a project's job (a deploy, stop or status an operator follows), Debug for the others
    /// (health checks, plugin commands): one line per job on the dispatch path, which the job's record (SentAt), its trace
    /// and the jobs.dispatched metric hold too; at Information the console logger's lock was a measurable share of each request.</summary>
    public static void JobSent(this ILogger logger, string jobId, string type, string? project, string agentId) =>
        logger.JobSent(project is null ? LogLevel.Debug : LogLevel.Information, jobId, type, project, agentId);

    [LoggerMessage(EventId = 2002, Message = "Job {JobId} finished {Status}")]
    private static partial void JobFinished(this ILogger logger, LogLevel level, string jobId, string status);

    /// <summary>Information for a project's job and for any job that did not complete (an operator looks for those),
    /// Debug for a project-less job that completed: that line is per job on the result path, and the job's record, trace
    /// and jobs.finished metric hold it.</summary>
    public static void JobFinished(this ILogger logger, string jobId, string status, bool ofProject) =>
        logger.JobFinished(ofProject || status != Contracts.JobStatuses.Completed ? LogLevel.Information : LogLevel.Debug, jobId, status);

    [LoggerMessage(2008, LogLevel.Warning, "Job {JobId}: its result ({Status}) arrived after it had timed out; the result is applied")]
    public static partial void JobResultLate(this ILogger logger, string jobId, string status);

    [LoggerMessage(2009, LogLevel.Information, "{Count} job(s) queued again to their connected agents (a send had failed, or a sent job showed no progress)")]
    public static partial void JobsRequeued(this ILogger logger, int count);

    [LoggerMessage(2010, LogLevel.Information, "Retention: {Jobs} finished job(s) deleted, the output of {Outputs} cleared")]
    public static partial void RetentionSwept(this ILogger logger, int jobs, int outputs);

    [LoggerMessage(2003, LogLevel.Warning, "Job {JobId} could not be sent to agent {AgentId}: {Reason}")]
    public static partial void JobSendFailed(this ILogger logger, string jobId, string agentId, string reason);

    [LoggerMessage(2005, LogLevel.Information, "Job {JobId} ({Type}) queued: agent {AgentId} is offline; it is sent when the agent connects")]
    public static partial void JobQueued(this ILogger logger, string jobId, string type, string agentId);

    [LoggerMessage(2006, LogLevel.Information, "Job {JobId} sent again to agent {AgentId}: the agent reconnected without it")]
    public static partial void JobResent(this ILogger logger, string jobId, string agentId);

    [LoggerMessage(2004, LogLevel.Warning, "{Count} job(s) timed out or expired")]
    public static partial void JobsTimedOut(this ILogger logger, int count);

    [LoggerMessage(3002, LogLevel.Error, "{Service}: this round failed and is retried on the next one")]
    public static partial void BackgroundTickFailed(this ILogger logger, Exception exception, string service);

    [LoggerMessage(1009, LogLevel.Information, "Agent {AgentId} stored the key it was issued; its id now accepts that key only")]
    public static partial void AgentKeyBound(this ILogger logger, string agentId);

    [LoggerMessage(1010, LogLevel.Information, "Agent {AgentId} is stopping: it finishes its running jobs (up to {DrainSeconds} s) on this connection; new jobs wait for its next one")]
    public static partial void AgentStopping(this ILogger logger, string agentId, int drainSeconds);

    [LoggerMessage(1007, LogLevel.Error, "Agent {AgentId}: a message could not be applied; the connection stays open")]
    public static partial void AgentMessageFailed(this ILogger logger, Exception exception, string agentId);

    [LoggerMessage(2007, LogLevel.Warning, "The STATUS that follows up an interrupted job of project {Project} on agent {AgentId} was not sent: {Reason}")]
    public static partial void FollowUpRefused(this ILogger logger, string project, string agentId, string reason);

    [LoggerMessage(3003, LogLevel.Warning, "{Where} failed: the database cannot be used ({Kind}): {Reason}; answered 503")]
    public static partial void StorageFailed(this ILogger logger, string where, string kind, string reason);

    [LoggerMessage(3001, LogLevel.Information, "Database {Path} ready")]
    public static partial void DatabaseReady(this ILogger logger, string path);
}
