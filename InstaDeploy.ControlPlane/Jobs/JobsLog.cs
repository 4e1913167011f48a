namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>The job store's own log events, with stable ids.</summary>
internal static partial class JobsLog
{
    [LoggerMessage(5001, LogLevel.Error, "An agent-reconnected handler failed for agent {AgentId}")]
    public static partial void ReconnectedHandlerFailed(this ILogger logger, Exception exception, string agentId);

    [LoggerMessage(5002, LogLevel.Error, "A job-finished handler failed for job {JobId}")]
    public static partial void FinishedHandlerFailed(this ILogger logger, Exception exception, string jobId);

    [LoggerMessage(5003, LogLevel.Warning, "A batch of {Count} job writes failed; nothing of it was stored")]
    public static partial void WriteBatchFailed(this ILogger logger, Exception exception, int count);
}
