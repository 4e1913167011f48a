using InstaDeploy.ControlPlane.Backups;
using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace InstaDeploy.ControlPlane.Tests.Backups;

/// <summary>
/// Upgrades: a database made by an earlier schema is migrated at start with every row usable. Each schema version has a
/// fixture under UpgradeFixtures/&lt;migration&gt;/ made by the build of its time (bash eng/make-upgrade-fixture.sh),
/// and every later build is started on every fixture. A database from a newer release is refused (the rollback case).
/// </summary>
public sealed class UpgradeTests
{
    [Fact]
    public async Task AStartThatMigratesAnExistingDatabaseSaysSoInTheLog()
    {
        var known = DatabaseSchema.KnownMigrations;
        var data = Directory.CreateTempSubdirectory("instadeploy-older-schema-").FullName;
        var database = Path.Combine(data, UpgradeFixture.DatabaseFile);
        var options = new DbContextOptionsBuilder<InstaDeployDbContext>().UseSqlite($"Data Source={database};Pooling=False").Options;
        await using (var db = new InstaDeployDbContext(options))
            await db.GetService<IMigrator>().MigrateAsync(known[^2]); // the schema of the release before the newest migration

        await using (var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { [ControlPlaneFactory.SqliteSetting] = "", ["INSTADEPLOY_DATA_DIR"] = data }))
        {
            using var api = controlPlane.CreateApiClient();
            (await api.GetAsync("/agents")).EnsureSuccessStatusCode();
            Assert.Contains(controlPlane.Logs.Lines, l => l.Contains($"is at schema {known[^2]}; migrating it to {known[^1]} ({known[^1]})", StringComparison.Ordinal));
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Assert.Equal(known[^1], (await DatabaseBackup.DescribeAsync(database, CancellationToken.None)).Schema);
    }

    [Fact]
    public async Task TheControlPlaneRefusesToStartOnADatabaseMigratedByANewerRelease()
    {
        await using var fleet = new ProcessFleet();
        Directory.CreateDirectory(fleet.ControlPlaneDataDirectory);
        var database = Path.Combine(fleet.ControlPlaneDataDirectory, UpgradeFixture.DatabaseFile);
        File.Copy(Path.Combine(Directory.GetDirectories(UpgradeFixture.CommittedFolder).Order(StringComparer.Ordinal).Last(), UpgradeFixture.DatabaseFile), database);
        await UpgradeFixture.AddMigrationFromTheFutureAsync(database);
        var before = await File.ReadAllBytesAsync(database);

        var (exitCode, output) = await fleet.RunControlPlaneCommandAsync(new Dictionary<string, string> { ["AGENT_SECRET_TOKEN"] = ProcessFleet.Token });
        Assert.True(exitCode == 2, output);
        Assert.Contains($"was migrated by a newer release of InstaDeploy (migrations this build does not know: {UpgradeFixture.FutureMigration})", output);
        Assert.Contains("Rolling back", output);
        Assert.Equal(before, await File.ReadAllBytesAsync(database)); // not migrated, not written
    }

    public static TheoryData<string> CommittedFixtures()
    {
        var fixtures = new TheoryData<string>();
        foreach (var folder in Directory.GetDirectories(UpgradeFixture.CommittedFolder).Order(StringComparer.Ordinal)) fixtures.Add(Path.GetFileName(folder));
        return fixtures;
    }

    [Theory]
    [MemberData(nameof(CommittedFixtures))]
    public Task ThisBuildStartsOnADatabaseOfEveryEarlierSchemaWithItsRowsWorking(string schema) =>
        UpgradeFixture.CheckAsync(Path.Combine(UpgradeFixture.CommittedFolder, schema));

    [Fact]
    public void TheNewestSchemaHasAFixture()
    {
        var newest = DatabaseSchema.KnownMigrations[^1];
        Assert.True(Directory.Exists(Path.Combine(UpgradeFixture.CommittedFolder, newest)),
            $"There is no upgrade fixture for the schema {newest}: run bash eng/make-upgrade-fixture.sh and commit tests/InstaDeploy.ControlPlane.Tests/Backups/UpgradeFixtures/{newest}/, so every later build is tested on a database of this schema.");
        Assert.Equal(newest, UpgradeFixture.ReadManifest(Path.Combine(UpgradeFixture.CommittedFolder, newest)).Schema);
    }

    /// <summary>Also the fixture maker: with INSTADEPLOY_UPGRADE_FIXTURE_OUT set (eng/make-upgrade-fixture.sh), the
    /// fixture made and checked here is kept there.</summary>
    [Fact]
    public async Task AFixtureMadeByThisBuildPassesTheUpgradeChecks()
    {
        var folder = Environment.GetEnvironmentVariable("INSTADEPLOY_UPGRADE_FIXTURE_OUT") is { Length: > 0 } keep
            ? keep
            : Path.Combine(Directory.CreateTempSubdirectory("instadeploy-fixture-made-").FullName, "fixture");
        var manifest = await UpgradeFixture.MakeAsync(folder);
        Assert.Equal(DatabaseSchema.KnownMigrations[^1], manifest.Schema);
        await UpgradeFixture.CheckAsync(folder);
    }
}
