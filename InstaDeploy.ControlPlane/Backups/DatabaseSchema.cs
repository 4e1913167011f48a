using InstaDeploy.ControlPlane.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Backups;

/// <summary>
/// The database's schema version is the list of EF Core migrations applied to it. A database made by an older release
/// is migrated at start; one migrated by a newer release is refused, because this build would write rows that schema
/// does not accept (a rollback restores the backup taken before the upgrade instead; see docs/DEPLOYMENT.md).
/// </summary>
public static class DatabaseSchema
{
    /// <summary>The migrations this build knows, oldest first.</summary>
    public static IReadOnlyList<string> KnownMigrations { get; } = ReadKnownMigrations();

    private static List<string> ReadKnownMigrations()
    {
        // No connection is opened: the list comes from the migrations compiled into this assembly.
        using var db = new InstaDeployDbContext(new DbContextOptionsBuilder<InstaDeployDbContext>().UseSqlite("Data Source=:memory:").Options);
        return [.. db.Database.GetMigrations()];
    }

    /// <summary>The migrations applied to the database, oldest first (none for an empty file).</summary>
    public static async Task<List<string>> AppliedMigrationsAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__EFMigrationsHistory'";
        if (await command.ExecuteScalarAsync(cancellationToken) is null) return [];
        command.CommandText = "SELECT MigrationId FROM __EFMigrationsHistory ORDER BY MigrationId";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var applied = new List<string>();
        while (await reader.ReadAsync(cancellationToken)) applied.Add(reader.GetString(0));
        return applied;
    }

    /// <summary>Migrations applied to a database that this build does not know: it was migrated by a newer release.</summary>
    public static IReadOnlyList<string> NewerThanThisBuild(IEnumerable<string> applied) => NewerThanThisBuild(applied, KnownMigrations);

    /// <summary>Migrations applied that are not among <paramref name="known"/> (a store's own list).</summary>
    public static IReadOnlyList<string> NewerThanThisBuild(IEnumerable<string> applied, IReadOnlyList<string> known) =>
        [.. applied.Except(known, StringComparer.Ordinal)];

    /// <summary>The migrations applied to a database file, read without changing it (none when there is no file).</summary>
    public static async Task<List<string>> AppliedMigrationsAsync(string databasePath, CancellationToken cancellationToken)
    {
        if (!File.Exists(databasePath)) return [];
        await using var connection = DatabaseBackup.Open(databasePath, SqliteOpenMode.ReadOnly);
        await connection.OpenAsync(cancellationToken);
        return await AppliedMigrationsAsync(connection, cancellationToken);
    }

    /// <summary>The migrations of the PostgreSQL store this build knows, oldest first (its own list: Data/PostgresMigrations).</summary>
    public static IReadOnlyList<string> KnownPostgresMigrations { get; } = ReadKnownPostgresMigrations();

    private static List<string> ReadKnownPostgresMigrations()
    {
        using var db = new PostgresDesignTimeFactory().CreateDbContext([]);
        return [.. db.Database.GetMigrations()];
    }

    /// <summary>
    /// At start, before migrating: true (and the reason on stderr) when the database comes from a newer release. When
    /// this build is about to migrate an existing database, it says so in the log: from then on an older release
    /// refuses the database, and a rollback restores the backup taken before the upgrade.
    /// </summary>
    public static async Task<bool> IsDatabaseFromNewerReleaseAsync(this WebApplication app)
    {
        var database = app.Services.GetRequiredService<Database>();
        List<string> applied;
        IReadOnlyList<string> known;
        if (database.IsPostgres)
        {
            known = KnownPostgresMigrations;
            applied = await AppliedPostgresMigrationsAsync(app.Services, app.Lifetime.ApplicationStopping);
        }
        else
        {
            known = KnownMigrations;
            applied = await AppliedMigrationsAsync(app.Services.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.DatabasePath, app.Lifetime.ApplicationStopping);
        }
        var newer = applied.Except(known, StringComparer.Ordinal).ToList();
        if (newer.Count > 0)
        {
            Console.Error.WriteLine($"InstaDeploy control plane cannot start: the database {database.Name} was migrated by a newer release of InstaDeploy "
                + $"(migrations this build does not know: {string.Join(", ", newer)}). Run that release, or to roll back restore the backup "
                + "taken before the upgrade (docs/DEPLOYMENT.md, \"Rolling back\").");
            return true;
        }
        var pending = known.Except(applied, StringComparer.Ordinal).ToList();
        if (applied.Count > 0 && pending.Count > 0)
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DatabaseSchema).FullName!)
                .MigratingDatabase(database.Name, applied[^1], known[^1], string.Join(", ", pending));
        return false;
    }

    /// <summary>The migrations applied to the PostgreSQL database (none when the database or its history does not exist yet).</summary>
    private static async Task<List<string>> AppliedPostgresMigrationsAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await services.GetRequiredService<Database>().OpenAsync(cancellationToken);
            // Asked first, so a new database does not log a failed query on the missing history table.
            await using (var exists = connection.Sql("""SELECT to_regclass('"__EFMigrationsHistory"') IS NOT NULL"""))
                if (await exists.ExecuteScalarAsync(cancellationToken) is not true) return [];
            await using var command = connection.Sql("""SELECT "MigrationId" FROM "__EFMigrationsHistory" ORDER BY "MigrationId" """);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var applied = new List<string>();
            while (await reader.ReadAsync(cancellationToken)) applied.Add(reader.GetString(0));
            return applied;
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == Npgsql.PostgresErrorCodes.InvalidCatalogName)
        {
            return []; // the database itself is made by the first migration
        }
    }
}
