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
/// The one place that knows the store. <see cref="StoreFor"/> gives the backup commands and the endpoint the store of
/// the control plane's settings: the SQLite file (here) or the PostgreSQL database (<see cref="PostgresBackup"/>, with
/// <c>pg_dump</c>), both behind <see cref="BackupStore"/> and the same <see cref="BackupFile"/>.
/// <para>SQLite's online backup is <c>VACUUM INTO</c>: one read transaction, so the copy is the database as of one
/// instant (a consistent snapshot), taken while the control plane goes on reading and writing (WAL lets a reader and
/// the writer run side by side). The copy is written owner-only under a temporary name, flushed, checked with
/// <c>PRAGMA integrity_check</c>, and only then given its final name.</para>
/// </summary>
public static class DatabaseBackup
{
    /// <summary>The store the settings name: PostgreSQL when INSTADEPLOY_POSTGRES is set, else the SQLite file.</summary>
    /// <exception cref="BackupSetupException">INSTADEPLOY_POSTGRES is no connection string.</exception>
    internal static BackupStore StoreFor(ControlPlaneOptions options, string? postgres)
    {
        if (string.IsNullOrWhiteSpace(postgres)) return new SqliteStore(options);
        try
        {
            return new PostgresBackup(postgres, options.PgBinDirectory);
        }
        catch (ArgumentException e)
        {
            throw new BackupSetupException($"{Data.DataExtensions.PostgresSetting} is not an Npgsql connection string: {e.Message}");
        }
    }

    /// <summary>Writes <c>instadeploy-&lt;UTC time&gt;</c> and the store's extension into <paramref name="folder"/>
    /// (created owner-only when missing), never over an earlier backup.</summary>
    internal static async Task<BackupFile> WriteToFolderAsync(BackupStore store, string folder, DateTimeOffset now, CancellationToken cancellationToken)
    {
        OwnerOnly.CreateFolder(folder);
        var stem = $"instadeploy-{now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}";
        var target = Path.Combine(folder, stem + store.Extension);
        for (var n = 2; File.Exists(target); n++) target = Path.Combine(folder, $"{stem}-{n}{store.Extension}");
        return await store.WriteAsync(target, cancellationToken);
    }

    /// <summary>Writes a consistent copy of the database to <paramref name="target"/>, which must not exist.</summary>
    public static async Task<BackupFile> WriteAsync(string databasePath, string target, CancellationToken cancellationToken)
    {
        if (!File.Exists(databasePath)) throw new FileNotFoundException($"There is no database at {databasePath}.", databasePath);
        // VACUUM INTO writes into an empty file that exists (made owner-only by WriteThroughPartialAsync).
        return await WriteThroughPartialAsync(target, async (partial, token) =>
        {
            await using var source = Open(databasePath, SqliteOpenMode.ReadWrite);
            await source.OpenAsync(token);
            await using var vacuum = source.CreateCommand();
            vacuum.CommandText = "VACUUM INTO $target";
            vacuum.Parameters.AddWithValue("$target", partial);
            vacuum.CommandTimeout = 0; // a big database takes as long as it takes; the caller's token cancels it
            await vacuum.ExecuteNonQueryAsync(token);
        }, DescribeAsync, cancellationToken);
    }

    /// <summary>
    /// How every store's backup file comes to be: under a hidden temporary name beside <paramref name="target"/>, made
    /// owner-only before its first byte, filled by <paramref name="fill"/>, flushed to disk (neither VACUUM INTO nor
    /// pg_dump syncs what it wrote, and a backup a power cut can tear is no backup), checked by <paramref name="describe"/>,
    /// and only then given its name. On any failure the temporary file goes and nothing is named.
    /// </summary>
    internal static async Task<BackupFile> WriteThroughPartialAsync(string target, Func<string, CancellationToken, Task> fill,
        Func<string, CancellationToken, Task<BackupFile>> describe, CancellationToken cancellationToken)
    {
        target = Path.GetFullPath(target);
        if (File.Exists(target)) throw new IOException($"{target} exists already; a backup never overwrites a file.");
        var partial = Path.Combine(Path.GetDirectoryName(target)!, "." + Path.GetFileName(target) + ".partial");
        File.Delete(partial);
        try
        {
            await using (OwnerOnly.CreateFile(partial)) { }
            await fill(partial, cancellationToken);
            await using (var written = new FileStream(partial, FileMode.Open, FileAccess.ReadWrite)) written.Flush(flushToDisk: true);
            var described = await describe(partial, cancellationToken);
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
        if (PgArchive.Kind(file) == "pg_dump")
            throw new InvalidDataException($"{file} is a PostgreSQL backup (a pg_dump archive), and this control plane's store is SQLite: restore it with INSTADEPLOY_POSTGRES set to an empty database.");
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

    /// <summary>Checks a PostgreSQL backup (a pg_dump archive) by reading it whole, and reads its schema and row counts,
    /// without a database.</summary>
    /// <exception cref="InvalidDataException">The file is not a readable pg_dump archive.</exception>
    public static Task<BackupFile> DescribeArchiveAsync(string file, string? pgBinDirectory, CancellationToken cancellationToken) =>
        PostgresBackup.DescribeArchiveAsync(PgTools.Find("pg_restore", pgBinDirectory), file, cancellationToken);

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

/// <summary>What backup and restore do on one kind of store.</summary>
internal abstract class BackupStore
{
    /// <summary>The store, for messages: the SQLite file, or the PostgreSQL server and database (never a password).</summary>
    public abstract string Name { get; }

    /// <summary>The backup files' extension.</summary>
    public abstract string Extension { get; }

    /// <summary>The media type of a downloaded backup.</summary>
    public abstract string ContentType { get; }

    /// <summary>How a written or restored backup was checked, for the commands' output.</summary>
    public abstract string Checked { get; }

    /// <summary>The migrations of this store this build knows, oldest first.</summary>
    public abstract IReadOnlyList<string> KnownMigrations { get; }

    /// <summary>What to do with a backup whose key ring is lost, for the refusal that asks for it.</summary>
    public abstract string WithoutKeyRing { get; }

    /// <summary>Null when a backup can be made; else why not (a setting or an installation), before anything is written.</summary>
    public abstract Task<string?> BackupProblemAsync(CancellationToken cancellationToken);

    /// <summary>Writes a consistent copy of the database to <paramref name="target"/>, which must not exist: written
    /// under a temporary name, checked, then renamed, so a file of that name is a whole backup.</summary>
    public abstract Task<BackupFile> WriteAsync(string target, CancellationToken cancellationToken);

    /// <summary>Checks a backup file and reads its schema and row counts, changing nothing.</summary>
    /// <exception cref="InvalidDataException">It is no sound backup of this store.</exception>
    public abstract Task<BackupFile> DescribeAsync(string file, CancellationToken cancellationToken);

    /// <summary>The encrypted values (secret variables, revisions' variable snapshots) a backup file holds.</summary>
    public abstract Task<List<(string Value, bool Snapshot)>> ReadSecretsAsync(string file, CancellationToken cancellationToken);

    /// <summary>Null when a backup can be restored into the store; else why not (it is not empty), changing nothing.</summary>
    public abstract Task<string?> RestoreProblemAsync(CancellationToken cancellationToken);

    /// <summary>Puts a described backup into the empty store: all of it, or (on failure) nothing.</summary>
    public abstract Task RestoreAsync(string file, CancellationToken cancellationToken);
}

internal sealed class SqliteStore(ControlPlaneOptions options) : BackupStore
{
    private string Database => options.DatabasePath;

    public override string Name => Database;

    public override string Extension => ".db";

    public override string ContentType => BackupsApi.ContentType;

    public override string Checked => "integrity ok";

    public override IReadOnlyList<string> KnownMigrations => DatabaseSchema.KnownMigrations;

    public override string WithoutKeyRing => $"copy the file to {Database} by hand and set the secret variables again";

    public override Task<string?> BackupProblemAsync(CancellationToken cancellationToken) => Task.FromResult(File.Exists(Database)
        ? null
        : $"there is no database at {Database}. Run the backup with the control plane's settings (INSTADEPLOY_DATA_DIR is '{options.DataDirectory}').");

    public override Task<BackupFile> WriteAsync(string target, CancellationToken cancellationToken) => DatabaseBackup.WriteAsync(Database, target, cancellationToken);

    public override Task<BackupFile> DescribeAsync(string file, CancellationToken cancellationToken) => DatabaseBackup.DescribeAsync(file, cancellationToken);

    public override Task<List<(string Value, bool Snapshot)>> ReadSecretsAsync(string file, CancellationToken cancellationToken) => BackupSecrets.ReadAsync(file, cancellationToken);

    public override Task<string?> RestoreProblemAsync(CancellationToken cancellationToken) => Task.FromResult(File.Exists(Database) || File.Exists(Database + "-wal")
        ? $"a database is already at {Database}. Restore into an empty data folder: stop the control plane and move {Database} (with its -wal and -shm files) away first, or point INSTADEPLOY_DATA_DIR at a new folder."
        : null);

    public override Task RestoreAsync(string file, CancellationToken cancellationToken)
    {
        OwnerOnly.CreateFolder(Path.GetDirectoryName(Database)!);
        return OwnerOnly.CopyFileAsync(file, Database, cancellationToken);
    }
}
