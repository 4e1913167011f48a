using Npgsql;

namespace InstaDeploy.ControlPlane.Backups;

/// <summary>
/// Backups of the PostgreSQL store with <c>pg_dump --format=custom</c>: one repeatable-read transaction, so the archive
/// is the database as of one instant, taken while every instance goes on reading and writing. It is written owner-only
/// under a temporary name, flushed, read back whole with pg_restore (which decompresses every block), and only then
/// renamed. A restore goes into an empty database with <c>pg_restore --single-transaction</c>: all of it or nothing.
/// </summary>
internal sealed class PostgresBackup(string connectionString, string? binDirectory) : BackupStore
{
    public const string ArchiveExtension = ".pgdump";
    private const string MigrationsTable = "__EFMigrationsHistory";

    private readonly PgConnection _connection = PgConnection.Parse(connectionString);

    public override string Name => _connection.Name;

    public override string Extension => ArchiveExtension;

    public override string ContentType => BackupsApi.PostgresContentType;

    public override string Checked => "read back whole by pg_restore";

    public override IReadOnlyList<string> KnownMigrations => DatabaseSchema.KnownPostgresMigrations;

    public override string WithoutKeyRing => $"pg_restore it by hand into the empty database {_connection.Database} and set the secret variables again";

    private string PgRestore => PgTools.Find("pg_restore", binDirectory);

    public override async Task<string?> BackupProblemAsync(CancellationToken cancellationToken)
    {
        try
        {
            var pgDump = PgTools.Find("pg_dump", binDirectory);
            _ = PgRestore; // the backup is read back with it
            var (client, clientText) = await PgTools.VersionAsync(pgDump, cancellationToken);
            var server = await ServerVersionAsync(cancellationToken);
            return client >= server.Major ? null
                : $"{pgDump} is pg_dump {clientText}, older than the server ({Name} runs PostgreSQL {server.Major}.{server.Minor}), and pg_dump cannot dump a newer server: "
                  + $"install the client programs of PostgreSQL {server.Major} or newer (Debian: postgresql-client-{server.Major}) and set {PgTools.BinDirectorySetting} to their bin folder.";
        }
        catch (BackupSetupException e)
        {
            return e.Message;
        }
    }

    public override Task<BackupFile> WriteAsync(string target, CancellationToken cancellationToken)
    {
        var pgDump = PgTools.Find("pg_dump", binDirectory);
        // pg_dump truncates a file that exists and keeps its mode: owner-only from its first byte.
        return DatabaseBackup.WriteThroughPartialAsync(target,
            (partial, token) => PgTools.RunAsync(pgDump, ["--format=custom", "--no-password", $"--file={partial}", $"--dbname={_connection.ConnectionInfo}"], _connection, null, token),
            DescribeAsync, cancellationToken);
    }

    public override Task<BackupFile> DescribeAsync(string file, CancellationToken cancellationToken) => DescribeArchiveAsync(PgRestore, file, cancellationToken);

    internal static async Task<BackupFile> DescribeArchiveAsync(string pgRestore, string file, CancellationToken cancellationToken)
    {
        switch (PgArchive.Kind(file))
        {
            case "SQLite":
                throw new InvalidDataException($"{file} is a SQLite backup, and this control plane's store is PostgreSQL ({Data.DataExtensions.PostgresSetting} is set): restore it with {Data.DataExtensions.PostgresSetting} unset, into an empty data folder.");
            case not "pg_dump":
                throw new InvalidDataException($"{file} is not a pg_dump archive (custom format), which is what backup writes on PostgreSQL.");
        }
        var migrations = new List<string>();
        var rows = await PgArchive.ReadAsync(pgRestore, file, null, (table, columns) =>
        {
            if (table != MigrationsTable) return null;
            var id = IndexOf(columns, "MigrationId", table);
            return row => migrations.Add(row[id]!);
        }, cancellationToken);
        foreach (var table in rows.Keys.Where(t => t.StartsWith("__EF", StringComparison.Ordinal)).ToList()) rows.Remove(table);
        migrations.Sort(StringComparer.Ordinal);
        return new BackupFile(file, new FileInfo(file).Length, migrations, rows);
    }

    public override async Task<List<(string Value, bool Snapshot)>> ReadSecretsAsync(string file, CancellationToken cancellationToken)
    {
        var payloads = new List<(string, bool)>();
        await PgArchive.ReadAsync(PgRestore, file, ["ProjectVariables", "Revisions"], (table, columns) =>
        {
            switch (table)
            {
                case "ProjectVariables":
                    var (value, secret) = (IndexOf(columns, "Value", table), IndexOf(columns, "Secret", table));
                    return row => { if (row[secret] == "t") payloads.Add((row[value]!, false)); };
                case "Revisions":
                    var snapshot = IndexOf(columns, "VariablesProtected", table);
                    return row => { if (row[snapshot] is { } protectedVariables) payloads.Add((protectedVariables, true)); };
                default:
                    return null;
            }
        }, cancellationToken);
        return payloads;
    }

    public override async Task<string?> RestoreProblemAsync(CancellationToken cancellationToken)
    {
        try
        {
            _ = PgRestore;
        }
        catch (BackupSetupException e)
        {
            return e.Message;
        }
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("""
                SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
                ORDER BY 1 LIMIT 6
                """, connection);
            var tables = new List<string>();
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
                while (await reader.ReadAsync(cancellationToken)) tables.Add(reader.GetString(0));
            return tables.Count == 0 ? null
                : $"the database {Name} is not empty (it holds {string.Join(", ", tables.Take(5))}{(tables.Count > 5 ? ", …" : "")}). Restore into an empty database: "
                  + $"create a new one owned by the control plane's user (createdb --owner=USER NAME) and point {Data.DataExtensions.PostgresSetting} at it. Nothing was restored.";
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            return $"there is no database {_connection.Database} on {Name}: create it, empty and owned by the control plane's user (createdb --owner=USER {_connection.Database}), then restore.";
        }
    }

    public override Task RestoreAsync(string file, CancellationToken cancellationToken) =>
        // Owner and grants are the new server's: its roles need not be the old one's.
        PgTools.RunAsync(PgRestore, ["--no-password", "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
            $"--dbname={_connection.ConnectionInfo}", Path.GetFullPath(file)], _connection, null, cancellationToken);

    private async Task<Version> ServerVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return connection.PostgreSqlVersion;
    }

    /// <summary>A connection of its own (the commands end right after; the service's pool is not this one).</summary>
    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch (NpgsqlException e) when (e is not PostgresException)
        {
            await connection.DisposeAsync();
            throw new IOException($"cannot connect to {Name}: {e.Message}", e);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static int IndexOf(IReadOnlyList<string> columns, string column, string table)
    {
        for (var i = 0; i < columns.Count; i++)
            if (columns[i] == column) return i;
        throw new InvalidDataException($"the archive's {table} has no column {column}: it is no InstaDeploy backup");
    }
}
