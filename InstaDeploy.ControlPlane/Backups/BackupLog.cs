namespace InstaDeploy.ControlPlane.Backups;

/// <summary>Log events of backups (ids 6xxx, beside Infrastructure/Log.cs's ranges).</summary>
internal static partial class BackupLog
{
    [LoggerMessage(6001, LogLevel.Information, "Database backup made for API key {KeyId}: {Bytes} bytes, schema {Schema}, in {Milliseconds:0} ms")]
    public static partial void BackupMade(this ILogger logger, string keyId, long bytes, string schema, double milliseconds);

    [LoggerMessage(6002, LogLevel.Warning, "Database {Path} is at schema {From}; migrating it to {To} ({Migrations}). Releases older than this one cannot run on it from now on: to roll back, restore the backup taken before the upgrade")]
    public static partial void MigratingDatabase(this ILogger logger, string path, string from, string to, string migrations);
}
