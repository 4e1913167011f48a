namespace InstaDeploy.ControlPlane.Cluster;

internal static partial class ClusterLog
{
    [LoggerMessage(3101, LogLevel.Information, "This instance now runs the cluster's once-only work (it holds the advisory lock)")]
    public static partial void ClusterLeading(this ILogger logger);

    [LoggerMessage(3102, LogLevel.Warning, "{Count} agents were marked offline: no instance renewed their presence in {Seconds} s (their instance died or lost the database)")]
    public static partial void PresenceExpired(this ILogger logger, int count, int seconds);

    [LoggerMessage(3103, LogLevel.Information, "Control-plane instance {InstanceId} on {Database}")]
    public static partial void InstanceStarted(this ILogger logger, string instanceId, string database);
}
