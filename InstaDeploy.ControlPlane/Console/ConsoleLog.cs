namespace InstaDeploy.ControlPlane.WebConsole;

/// <summary>The console's log events (8000-8099). Never a key: ids and names only.</summary>
internal static partial class ConsoleLog
{
    [LoggerMessage(8001, LogLevel.Information, "Console session started for API key {KeyId} ({KeyName})")]
    public static partial void ConsoleSignedIn(this ILogger logger, string keyId, string keyName);

    [LoggerMessage(8002, LogLevel.Warning, "Console sign-in refused from {Address}: unknown, revoked or expired API key")]
    public static partial void ConsoleSignInRefused(this ILogger logger, string address);

    [LoggerMessage(8003, LogLevel.Warning, "Console action refused for API key {KeyId}: {Reason}")]
    public static partial void ConsoleActionRefused(this ILogger logger, string? keyId, string reason);

    [LoggerMessage(8004, LogLevel.Warning, "Console live view of job {JobId} failed")]
    public static partial void LiveViewFailed(this ILogger logger, Exception exception, string jobId);
}
