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
    public static IReadOnlyList<string> NewerThanThisBuild(IEnumerable<string> applied) =>
        [.. applied.Except(KnownMigrations, StringComparer.Ordinal)];

    /// <summary>The message for a database this build must not run on, or null when it may.</summary>
    public static async Task<string?> CheckAsync(string databasePath, CancellationToken cancellationToken)
    {
        if (!File.Exists(databasePath)) return null;
        await using var connection = DatabaseBackup.Open(databasePath, SqliteOpenMode.ReadOnly);
        await connection.OpenAsync(cancellationToken);
        var newer = NewerThanThisBuild(await AppliedMigrationsAsync(connection, cancellationToken));
        return newer.Count == 0 ? null
            : $"the database {databasePath} was migrated by a newer release of InstaDeploy (migrations this build does not know: {string.Join(", ", newer)}). "
              + "Run that release, or to roll back restore the backup taken before the upgrade (docs/DEPLOYMENT.md, \"Rolling back\").";
    }

    /// <summary>At start, before migrating: true (and the reason on stderr) when the database comes from a newer release.</summary>
    public static async Task<bool> IsDatabaseFromNewerReleaseAsync(this WebApplication app)
    {
        var problem = await CheckAsync(app.Services.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.DatabasePath, app.Lifetime.ApplicationStopping);
        if (problem is null) return false;
        Console.Error.WriteLine($"InstaDeploy control plane cannot start: {problem}");
        return true;
    }
}
