namespace InstaDeploy.ControlPlane.Data;

/// <summary>How a new SQLite database file is made.</summary>
public static class SqliteFiles
{
    /// <summary>
    /// A database without tables yet is given <c>auto_vacuum=INCREMENTAL</c>, so the pages retention frees go back to the
    /// file system with <c>PRAGMA incremental_vacuum</c> instead of staying in the file. SQLite only takes the setting before
    /// the first table exists, and keeps it once the file is written, so WAL mode is set in the same connection: that writes
    /// the header. An existing database keeps its mode (freed pages are reused, not returned); <c>VACUUM</c> once, with the
    /// control plane stopped, converts it (docs/DEPLOYMENT.md).
    /// </summary>
    public static async Task CreateWithIncrementalVacuumAsync(Database database, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tables = connection.Sql("SELECT COUNT(*) FROM sqlite_master");
        if (Convert.ToInt64(await tables.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) != 0) return;
        await using var pragma = connection.Sql("PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;");
        await pragma.ExecuteNonQueryAsync(cancellationToken);
    }
}
