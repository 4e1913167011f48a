using Microsoft.Data.Sqlite;

namespace InstaDeploy.ControlPlane.Backups;

/// <summary>What a backup holds: its file, size, schema and the rows of each table.</summary>
/// <param name="Path">The backup file.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Migrations">The migrations applied to it, oldest first: its schema version.</param>
/// <param name="Rows">Rows per table.</param>
public sealed record BackupFile(string Path, long Bytes, IReadOnlyList<string> Migrations, IReadOnlyDictionary<string, long> Rows)
{
    /// <summary>The last migration applied, or null for an empty database.</summary>
    public string? Schema => Migrations.Count == 0 ? null : Migrations[^1];
}

/// <summary>
/// Online backups of the SQLite database with <c>VACUUM INTO</c>: one read transaction, so the copy is the database as
/// of one instant (a consistent snapshot), taken while the control plane goes on reading and writing (WAL lets a reader
/// and the writer run side by side). The copy is written owner-only under a temporary name, flushed, checked with
/// <c>PRAGMA integrity_check</c>, and only then given its final name. The SQLite seam: a PostgreSQL store would back up
/// with <c>pg_dump</c> here, behind the same <see cref="BackupFile"/>.
/// </summary>
public static class DatabaseBackup
{
    /// <summary>Writes <c>instadeploy-&lt;UTC time&gt;.db</c> into <paramref name="folder"/> (created owner-only when missing).</summary>
    public static async Task<BackupFile> WriteToFolderAsync(string databasePath, string folder, DateTimeOffset now, CancellationToken cancellationToken)
    {
        OwnerOnly.CreateFolder(folder);
        var stem = $"instadeploy-{now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}";
        var target = Path.Combine(folder, stem + ".db");
        for (var n = 2; File.Exists(target); n++) target = Path.Combine(folder, $"{stem}-{n}.db");
        return await WriteAsync(databasePath, target, cancellationToken);
    }

    /// <summary>Writes a consistent copy of the database to <paramref name="target"/>, which must not exist.</summary>
    public static async Task<BackupFile> WriteAsync(string databasePath, string target, CancellationToken cancellationToken)
    {
        if (!File.Exists(databasePath)) throw new FileNotFoundException($"There is no database at {databasePath}.", databasePath);
        if (File.Exists(target)) throw new IOException($"{target} exists already; a backup never overwrites a file.");
        var partial = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(target))!, "." + Path.GetFileName(target) + ".partial");
        File.Delete(partial);
        try
        {
            // VACUUM INTO writes into an empty file that exists: made here, so it is owner-only from its first byte.
            await using (OwnerOnly.CreateFile(partial)) { }
            await using (var source = Open(databasePath, SqliteOpenMode.ReadWrite))
            {
                await source.OpenAsync(cancellationToken);
                await using var vacuum = source.CreateCommand();
                vacuum.CommandText = "VACUUM INTO $target";
                vacuum.Parameters.AddWithValue("$target", partial);
                vacuum.CommandTimeout = 0; // a big database takes as long as it takes; the caller's token cancels it
                await vacuum.ExecuteNonQueryAsync(cancellationToken);
            }
            // VACUUM INTO does not sync what it wrote; a backup that a power cut can tear is no backup.
            await using (var written = new FileStream(partial, FileMode.Open, FileAccess.ReadWrite)) written.Flush(flushToDisk: true);
            var described = await DescribeAsync(partial, cancellationToken);
            File.Move(partial, target);
            return described with { Path = target };
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    /// <summary>Checks a database file's integrity and reads its schema version and row counts, changing nothing.</summary>
    /// <exception cref="InvalidDataException">The file is not a sound SQLite database.</exception>
    public static async Task<BackupFile> DescribeAsync(string file, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = Open(file, SqliteOpenMode.ReadOnly);
            await connection.OpenAsync(cancellationToken);
            var problems = new List<string>();
            await using (var check = connection.CreateCommand())
            {
                check.CommandText = "PRAGMA integrity_check";
                check.CommandTimeout = 0;
                await using var reader = await check.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken)) problems.Add(reader.GetString(0));
            }
            if (problems is not ["ok"])
                throw new InvalidDataException($"{file} failed SQLite's integrity check: {string.Join("; ", problems.Take(5))}");

            var rows = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var table in await TablesAsync(connection, cancellationToken))
                rows[table] = (long)(await ScalarAsync(connection, $"SELECT count(*) FROM \"{table}\"", cancellationToken))!;
            var applied = await DatabaseSchema.AppliedMigrationsAsync(connection, cancellationToken);
            return new BackupFile(file, new FileInfo(file).Length, applied, rows);
        }
        catch (SqliteException e)
        {
            throw new InvalidDataException($"{file} is not a readable SQLite database: {e.Message}", e);
        }
    }

    internal static SqliteConnection Open(string file, SqliteOpenMode mode) =>
        new(new SqliteConnectionStringBuilder { DataSource = file, Mode = mode, Pooling = false, DefaultTimeout = 30 }.ToString());

    internal static async Task<List<string>> TablesAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND substr(name, 1, 4) <> '__EF' ORDER BY name";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var tables = new List<string>();
        while (await reader.ReadAsync(cancellationToken)) tables.Add(reader.GetString(0));
        return tables;
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken);
    }
}
