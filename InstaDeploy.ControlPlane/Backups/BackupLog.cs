namespace InstaDeploy.ControlPlane.Backups;

/// <summary>Log events of backups (ids 6xxx, beside Infrastructure/Log.cs's ranges).</summary>
internal static partial class BackupLog
{
    [LoggerMessage(6001, LogLevel.Information, "Database backup made for API key {KeyId}: {Bytes} bytes, schema {Schema}, in {Milliseconds:0} ms")]
    public static partial void BackupMade(this ILogger logger, string keyId, long bytes, string schema, double milliseconds);
}
