using System.Net;
using InstaDeploy.ControlPlane.Backups;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;

namespace InstaDeploy.ControlPlane.Tests.Backups;

/// <summary>
/// The backup and restore commands' refusals, each with the message an operator acts on and nothing written, on a copy
/// of the committed upgrade fixture (a real database with secrets and its key ring). The working path, under load and
/// with real processes, is in tests/InstaDeploy.EndToEnd.Tests/Deployment/BackupRestoreTests.cs.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BackupCommandTests : IDisposable
{
    /// <summary>The fixture's encrypted values: the secret variable, and the variables deployed with revisions 1 and 2.</summary>
    private const int FixtureSecrets = 3;

    private readonly string _root = Directory.CreateTempSubdirectory("instadeploy-backup-cmd-").FullName;
    private readonly string _data;
    private readonly string _backup;
    private readonly string _keys;

    public BackupCommandTests()
    {
        var fixture = Directory.GetDirectories(UpgradeFixture.CommittedFolder).Order(StringComparer.Ordinal).Last();
        _data = Path.Combine(_root, "data");
        Directory.CreateDirectory(_data);
        File.Copy(Path.Combine(fixture, UpgradeFixture.DatabaseFile), Path.Combine(_data, UpgradeFixture.DatabaseFile));
        _keys = Path.Combine(fixture, UpgradeFixture.KeysFolder);
        _backup = Path.Combine(fixture, UpgradeFixture.DatabaseFile);
    }

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(string dataDirectory, string? keyRing, params string[] args)
    {
        var settings = new Dictionary<string, string?> { ["INSTADEPLOY_DATA_DIR"] = dataDirectory, ["INSTADEPLOY_KEY_RING_DIR"] = keyRing };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await BackupCommands.RunAsync(args, configuration, TimeProvider.System, output, error, CancellationToken.None);
        SqliteConnection.ClearAllPools();
        return (exitCode, output.ToString(), error.ToString());
    }

    private string Empty(string name) => Path.Combine(_root, name);

    [Theory]
    [InlineData("backup")]
    [InlineData("backup", "--to")]
    [InlineData("backup", "--from", "x")]
    [InlineData("backup", "--to", "a", "--to", "b")]
    [InlineData("restore", "--keys-from", "k")]
    public async Task MissingOrUnknownArgumentsAreUsageErrors(params string[] args)
    {
        var (exitCode, _, error) = await RunAsync(_data, null, args);
        Assert.Equal(2, exitCode);
        Assert.Contains("Usage:", error);
    }

    [Fact]
    public async Task ABackupWithoutADatabaseNamesTheDataFolderItLookedIn()
    {
        var (exitCode, _, error) = await RunAsync(Empty("nothing-here"), null, "backup", "--to", Empty("out"));
        Assert.Equal(2, exitCode);
        Assert.Contains("INSTADEPLOY_DATA_DIR", error);
        Assert.False(Directory.Exists(Empty("out")));
    }

    [Fact]
    public async Task TheKeyRingCannotBeBackedUpIntoTheDatabaseBackupsFolder()
    {
        var (exitCode, _, error) = await RunAsync(_data, _keys, "backup", "--to", Empty("out"), "--keys-to", Path.Combine(Empty("out"), "keys"));
        Assert.Equal(2, exitCode);
        Assert.Contains("Keep the key ring apart", error);
        Assert.False(Directory.Exists(Empty("out")));
    }

    [Fact]
    public async Task ABackupWithTheWrongKeyRingSaysItsSecretsCouldNotBeRead()
    {
        var wrongRing = Empty("wrong-ring");
        Directory.CreateDirectory(wrongRing);
        var (exitCode, output, error) = await RunAsync(_data, wrongRing, "backup", "--to", Empty("out"), "--keys-to", Empty("keys-out"));
        Assert.Equal(1, exitCode);
        Assert.Contains("integrity ok", output);
        Assert.Contains("cannot be decrypted with the key ring", error);
        Assert.Contains("INSTADEPLOY_KEY_RING_DIR", error);
    }

    [Fact]
    public async Task ABackupWithItsKeyRingWritesBothOwnerOnlyAndChecksThemTogether()
    {
        var (exitCode, output, error) = await RunAsync(_data, _keys, "backup", "--to", Empty("out"), "--keys-to", Empty("keys-out"));
        Assert.True(exitCode == 0, error);
        var file = Assert.Single(Directory.GetFiles(Empty("out")));
        Assert.Matches(@"instadeploy-\d{8}T\d{6}Z\.db$", file);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(Directory.GetFiles(_keys).Select(Path.GetFileName), Directory.GetFiles(Empty("keys-out")).Select(Path.GetFileName));
        Assert.Contains($"it decrypts {FixtureSecrets} of the {FixtureSecrets} secret value(s)", output);
    }

    [Fact]
    public async Task ARestoreDoesNotOverwriteADatabase()
    {
        var before = await File.ReadAllBytesAsync(Path.Combine(_data, UpgradeFixture.DatabaseFile));
        var (exitCode, _, error) = await RunAsync(_data, null, "restore", "--from", _backup, "--keys-from", _keys);
        Assert.Equal(2, exitCode);
        Assert.Contains("a database is already at", error);
        Assert.Equal(before, await File.ReadAllBytesAsync(Path.Combine(_data, UpgradeFixture.DatabaseFile)));
    }

    [Fact]
    public async Task ARestoreOfABackupWithSecretsNeedsItsKeyRing()
    {
        var (exitCode, _, error) = await RunAsync(Empty("fresh"), null, "restore", "--from", _backup);
        Assert.Equal(2, exitCode);
        Assert.Contains($"holds {FixtureSecrets} encrypted secret value(s) and no --keys-from was given", error);
        Assert.False(Directory.Exists(Empty("fresh")));
    }

    [Fact]
    public async Task ARestoreWithAKeyRingThatCannotDecryptTheBackupRestoresNothing()
    {
        var wrongRing = Empty("wrong-ring");
        Directory.CreateDirectory(wrongRing);
        var (exitCode, _, error) = await RunAsync(Empty("fresh"), null, "restore", "--from", _backup, "--keys-from", wrongRing);
        Assert.Equal(1, exitCode);
        Assert.Contains($"decrypts only 0 of the {FixtureSecrets} secret value(s)", error);
        Assert.False(Directory.Exists(Empty("fresh")));
    }

    [Fact]
    public async Task ARestoreOfADamagedFileRestoresNothing()
    {
        var damaged = Empty("damaged.db");
        var bytes = await File.ReadAllBytesAsync(_backup);
        Array.Fill(bytes, (byte)0xA5, 4096, bytes.Length / 2); // pages overwritten, as a torn copy or a bad disk leaves them
        await File.WriteAllBytesAsync(damaged, bytes);
        var (exitCode, _, error) = await RunAsync(Empty("fresh"), null, "restore", "--from", damaged, "--keys-from", _keys);
        Assert.Equal(1, exitCode);
        Assert.Contains("restore failed:", error);
        Assert.False(Directory.Exists(Empty("fresh")));
    }

    [Fact]
    public async Task ARestoreOfABackupFromANewerReleaseIsRefused()
    {
        var newer = Empty("newer.db");
        File.Copy(_backup, newer);
        await UpgradeFixture.AddMigrationFromTheFutureAsync(newer);
        var (exitCode, _, error) = await RunAsync(Empty("fresh"), null, "restore", "--from", newer, "--keys-from", _keys);
        Assert.Equal(1, exitCode);
        Assert.Contains($"was made by a newer release of InstaDeploy (migrations this build does not know: {UpgradeFixture.FutureMigration})", error);
        Assert.False(Directory.Exists(Empty("fresh")));
    }

    [Fact]
    public async Task TheBackupEndpointNeedsTheAdminScopeAndAnswersASoundDatabase()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { [ControlPlaneFactory.SqliteSetting] = "", ["INSTADEPLOY_DATA_DIR"] = _data, ["INSTADEPLOY_KEY_RING_DIR"] = _keys });
        var fixture = UpgradeFixture.ReadManifest(Directory.GetDirectories(UpgradeFixture.CommittedFolder).Order(StringComparer.Ordinal).Last());
        using var ci = controlPlane.CreateApiClient(fixture.CiApiKey);
        using var refused = await ci.PostAsync("/admin/backup", null);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("'admin' scope", (await refused.ReadJsonAsync()).GetProperty("detail").GetString());

        using var admin = controlPlane.CreateApiClient();
        using var response = await admin.PostAsync("/admin/backup", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Matches(@"^instadeploy-\d{8}T\d{6}Z\.db$", response.Content.Headers.ContentDisposition?.FileName);
        var downloaded = Empty("downloaded.db");
        await File.WriteAllBytesAsync(downloaded, await response.Content.ReadAsByteArrayAsync());
        var backup = await DatabaseBackup.DescribeAsync(downloaded, CancellationToken.None);
        Assert.Equal(fixture.Rows["Jobs"], backup.Rows["Jobs"]);
        Assert.Equal(DatabaseSchema.KnownMigrations[^1], backup.Schema);
        Assert.Empty(Directory.GetFiles(_data, ".backup-*"));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
