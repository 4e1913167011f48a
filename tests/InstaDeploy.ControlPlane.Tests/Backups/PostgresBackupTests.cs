using System.Net;
using System.Net.Http.Json;
using InstaDeploy.ControlPlane.Backups;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace InstaDeploy.ControlPlane.Tests.Backups;

/// <summary>
/// backup and restore on PostgreSQL (pg_dump, pg_restore) with real databases on the test server eng/setup-postgres.sh
/// starts (eng/test.sh runs it), or the one INSTADEPLOY_TEST_POSTGRES names: the working path, and each refusal with
/// its message and nothing changed. Each test makes its own databases and drops them. Under load, with real processes,
/// an agent and Docker: tests/InstaDeploy.EndToEnd.Tests/Deployment/BackupRestoreTests.cs.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PostgresBackupTests : IDisposable
{
    private const string Project = "pg-backup";
    private const string Secret = "s3cret-value-0123456789";

    private readonly string _server = TestPostgres.Server();
    private readonly List<TestPostgres> _databases = [];
    private readonly string _root = Directory.CreateTempSubdirectory("instadeploy-pg-backup-").FullName;

    private TestPostgres NewDatabase()
    {
        var database = TestPostgres.Create(_server);
        _databases.Add(database);
        return database;
    }

    private string Folder(string name) => Path.Combine(_root, name);

    private Dictionary<string, string?> Settings(TestPostgres database, string data, string? binDirectory = null) => new()
    {
        ["INSTADEPLOY_POSTGRES"] = database.ConnectionString,
        ["INSTADEPLOY_DATA_DIR"] = Folder(data),
        ["INSTADEPLOY_KEY_RING_DIR"] = Path.Combine(Folder(data), "keys"),
        [PgTools.BinDirectorySetting] = binDirectory,
    };

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(Dictionary<string, string?> settings, params string[] args)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await BackupCommands.RunAsync(args, configuration, TimeProvider.System, output, error, CancellationToken.None);
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>A control plane's database in use: a CI key and a project with a secret and a plain variable.</summary>
    private async Task<(TestPostgres Database, string CiKey)> InstallationAsync()
    {
        var database = NewDatabase();
        await using var controlPlane = new ControlPlaneFactory(Settings(database, "original"));
        using var admin = controlPlane.CreateApiClient();
        using var created = await admin.PostJsonAsync("/api-keys", new { name = "ci", scopes = new[] { "deploy" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        foreach (var (name, value, secret) in new[] { ("DB_PASSWORD", Secret, true), ("LOG_LEVEL", "info", false) })
        {
            using var put = await admin.PutAsJsonAsync($"/deployments/{Project}/env/{name}", new { value, secret }, InstaDeploy.Testing.Api.Json);
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }
        return (database, (await created.ReadJsonAsync()).GetProperty("key").GetString()!);
    }

    private static async Task<List<string>> TablesAsync(TestPostgres database)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var tables = new List<string>();
        while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        return tables;
    }

    private static async Task<long> CountAsync(TestPostgres database, string table)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM \"{table}\"", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<string> BackupAsync(TestPostgres database)
    {
        var (exitCode, output, error) = await RunAsync(Settings(database, "original"), "backup", "--to", Folder("backups"), "--keys-to", Folder("keys-backup"));
        Assert.True(exitCode == 0, error + output);
        return Assert.Single(Directory.GetFiles(Folder("backups")));
    }

    [Fact]
    public async Task ABackupIsAnOwnerOnlyArchiveThatRestoresIntoAnEmptyDatabaseWithEverythingWorking()
    {
        var (original, ciKey) = await InstallationAsync();
        var (exitCode, output, error) = await RunAsync(Settings(original, "original"), "backup", "--to", Folder("backups"), "--keys-to", Folder("keys-backup"));
        Assert.True(exitCode == 0, error + output);
        var file = Assert.Single(Directory.GetFiles(Folder("backups")));
        Assert.Matches(@"instadeploy-\d{8}T\d{6}Z\.pgdump$", file);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Folder("backups")));
        Assert.Contains($"schema {DatabaseSchema.KnownPostgresMigrations[^1]}, read back whole by pg_restore", output);
        Assert.Contains("ApiKeys 2", output); // the admin key and the CI key
        Assert.Contains("it decrypts 1 of the 1 secret value(s)", output);
        var described = await DatabaseBackup.DescribeArchiveAsync(file, null, CancellationToken.None);
        Assert.Equal(await CountAsync(original, "ProjectVariables"), described.Rows["ProjectVariables"]);

        // The server is lost; a new database and an empty data folder on a fresh machine.
        original.Dispose();
        var restored = NewDatabase();
        (exitCode, output, error) = await RunAsync(Settings(restored, "restored"), "restore", "--from", file, "--keys-from", Folder("keys-backup"));
        Assert.True(exitCode == 0, error + output);
        Assert.Contains("(this build's)", output);
        Assert.Contains("the key ring in", output);
        Assert.Contains("decrypts all 1 secret value(s)", output);
        Assert.Equal(2, await CountAsync(restored, "ApiKeys"));

        await using var controlPlane = new ControlPlaneFactory(Settings(restored, "restored"));
        using var ci = controlPlane.CreateApiClient(ciKey);
        var variables = (await ci.GetJsonAsync($"/deployments/{Project}/env")).GetProperty("variables").EnumerateArray().ToList();
        Assert.Contains(variables, v => v.GetProperty("name").GetString() == "DB_PASSWORD" && v.GetProperty("secret").GetBoolean());
        Assert.Contains(variables, v => v.GetProperty("name").GetString() == "LOG_LEVEL" && v.GetProperty("value").GetString() == "info");
        // The restored key ring decrypts the restored secret: what a deploy sends the agent.
        var protector = controlPlane.Services.GetRequiredService<ControlPlane.Deployments.VariableProtector>();
        await using var db = await controlPlane.Services.GetRequiredService<IDbContextFactory<Data.InstaDeployDbContext>>().CreateDbContextAsync();
        var stored = await db.ProjectVariables.SingleAsync(v => v.Name == "DB_PASSWORD");
        Assert.Equal(Secret, protector.UnprotectValue(stored.Value));
    }

    [Fact]
    public async Task ARestoreIntoADatabaseThatIsNotEmptyIsRefusedAndChangesNothing()
    {
        var (original, _) = await InstallationAsync();
        var file = await BackupAsync(original);
        var tables = await TablesAsync(original);
        var keys = await CountAsync(original, "ApiKeys");

        var (exitCode, _, error) = await RunAsync(Settings(original, "restored"), "restore", "--from", file, "--keys-from", Folder("keys-backup"));
        Assert.Equal(2, exitCode);
        Assert.Contains($"the database postgresql://", error);
        Assert.Contains("is not empty (it holds public.", error);
        Assert.Contains("Nothing was restored", error);
        Assert.Equal(tables, await TablesAsync(original));
        Assert.Equal(keys, await CountAsync(original, "ApiKeys"));
        Assert.False(Directory.Exists(Folder("restored"))); // no key ring copied either
    }

    [Fact]
    public async Task ARestoreIntoADatabaseThatDoesNotExistSaysToCreateIt()
    {
        var (original, _) = await InstallationAsync();
        var file = await BackupAsync(original);
        var missing = new NpgsqlConnectionStringBuilder(original.ConnectionString) { Database = "instadeploy_missing_" + Guid.NewGuid().ToString("N")[..8] };
        var settings = Settings(original, "restored");
        settings["INSTADEPLOY_POSTGRES"] = missing.ConnectionString;

        var (exitCode, _, error) = await RunAsync(settings, "restore", "--from", file, "--keys-from", Folder("keys-backup"));
        Assert.Equal(2, exitCode);
        Assert.Contains($"there is no database {missing.Database}", error);
        Assert.Contains("createdb", error);
        Assert.False(Directory.Exists(Folder("restored")));
    }

    [Fact]
    public async Task ARestoreOfABackupFromANewerReleaseIsRefusedAndChangesNothing()
    {
        var (original, _) = await InstallationAsync();
        await using (var connection = new NpgsqlConnection(original.ConnectionString))
        {
            await connection.OpenAsync();
            await using var future = new NpgsqlCommand($"INSERT INTO \"__EFMigrationsHistory\" VALUES ('{UpgradeFixture.FutureMigration}', '99.0.0')", connection);
            await future.ExecuteNonQueryAsync();
        }
        var file = await BackupAsync(original);
        var target = NewDatabase();

        var (exitCode, _, error) = await RunAsync(Settings(target, "restored"), "restore", "--from", file, "--keys-from", Folder("keys-backup"));
        Assert.Equal(1, exitCode);
        Assert.Contains($"was made by a newer release of InstaDeploy (migrations this build does not know: {UpgradeFixture.FutureMigration})", error);
        Assert.Empty(await TablesAsync(target));
        Assert.False(Directory.Exists(Folder("restored")));
    }

    [Fact]
    public async Task ABackupOfAnOlderSchemaRestoresAndIsMigratedAtStart()
    {
        var older = NewDatabase();
        var first = DatabaseSchema.KnownPostgresMigrations[0];
        await using (var db = new Data.PostgresDbContext(new DbContextOptionsBuilder<Data.PostgresDbContext>().UseNpgsql(older.ConnectionString).Options))
            await db.GetService<IMigrator>().MigrateAsync(first);
        var file = await BackupAsync(older);
        var restored = NewDatabase();

        var (exitCode, output, error) = await RunAsync(Settings(restored, "restored"), "restore", "--from", file);
        Assert.True(exitCode == 0, error + output);
        Assert.Contains($"schema {first} ({DatabaseSchema.KnownPostgresMigrations.Count - 1} migration(s) behind this build; the control plane applies them at start)", output);

        await using var controlPlane = new ControlPlaneFactory(Settings(restored, "restored"));
        using var admin = controlPlane.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api-keys")).StatusCode);
        Assert.Equal(DatabaseSchema.KnownPostgresMigrations.Count, await CountAsync(restored, "__EFMigrationsHistory"));
        Assert.Contains(controlPlane.Logs.Lines, l => l.Contains($"is at schema {first}; migrating it to {DatabaseSchema.KnownPostgresMigrations[^1]}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutPgDumpABackupIsRefusedNamingTheSettingAndWritesNothing()
    {
        var (original, _) = await InstallationAsync();
        var empty = Folder("no-tools");
        Directory.CreateDirectory(empty);

        var (exitCode, _, error) = await RunAsync(Settings(original, "original", empty), "backup", "--to", Folder("backups"), "--keys-to", Folder("keys-backup"));
        Assert.Equal(2, exitCode);
        Assert.Contains($"{PgTools.BinDirectorySetting} is '{empty}', which holds no executable pg_dump or pg_restore", error);
        Assert.False(Directory.Exists(Folder("backups")));
        Assert.False(Directory.Exists(Folder("keys-backup")));
    }

    [Fact]
    public async Task WithoutPgRestoreARestoreIsRefusedAndChangesNothing()
    {
        var (original, _) = await InstallationAsync();
        var file = await BackupAsync(original);
        var target = NewDatabase();
        var tools = FakeTools("pg_dump (PostgreSQL) 99.0", restore: false);

        var (exitCode, _, error) = await RunAsync(Settings(target, "restored", tools), "restore", "--from", file, "--keys-from", Folder("keys-backup"));
        Assert.Equal(2, exitCode);
        Assert.Contains("holds no executable pg_restore", error);
        Assert.Empty(await TablesAsync(target));
        Assert.False(Directory.Exists(Folder("restored")));
    }

    [Fact]
    public async Task APgDumpOlderThanTheServerIsRefusedSayingSoAndWritesNothing()
    {
        var (original, _) = await InstallationAsync();
        var tools = FakeTools("pg_dump (PostgreSQL) 9.6.24");

        var (exitCode, _, error) = await RunAsync(Settings(original, "original", tools), "backup", "--to", Folder("backups"));
        Assert.Equal(2, exitCode);
        Assert.Contains("is pg_dump 9.6.24, older than the server", error);
        Assert.Matches(@"runs PostgreSQL \d+\.\d+\), and pg_dump cannot dump a newer server", error);
        Assert.Contains(PgTools.BinDirectorySetting, error);
        Assert.False(Directory.Exists(Folder("backups")));
    }

    [Fact]
    public async Task ThePasswordReachesPgDumpThroughAPassfileOnlyAndNeverAnErrorMessage()
    {
        const string password = "pw:with\\odd*chars-0123456789"; // ':' and a backslash need escaping in a passfile
        await using var server = await PostgresServer.StartAsync(password: password);
        var settings = new Dictionary<string, string?>
        {
            ["INSTADEPLOY_POSTGRES"] = server.ConnectionString,
            ["INSTADEPLOY_DATA_DIR"] = Folder("data"),
        };
        // The server asks for the password (scram-sha-256): the backup works only if pg_dump and pg_restore got it.
        var (exitCode, output, error) = await RunAsync(settings, "backup", "--to", Folder("backups"));
        Assert.True(exitCode == 0, error + output);
        Assert.DoesNotContain(password, output + error);

        var connection = PgConnection.Parse(server.ConnectionString);
        var start = PgTools.StartInfo("pg_dump", ["--dbname=" + connection.ConnectionInfo], connection, out var privateFolder);
        try
        {
            Assert.DoesNotContain(start.ArgumentList, a => a.Contains("pw:with", StringComparison.Ordinal));
            Assert.DoesNotContain(start.Environment, e => e.Key.StartsWith("INSTADEPLOY_", StringComparison.Ordinal) || e.Value?.Contains("pw:with", StringComparison.Ordinal) == true);
            var passfile = start.Environment["PGPASSFILE"]!;
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(passfile));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(privateFolder!));
        }
        finally
        {
            Directory.Delete(privateFolder!, recursive: true);
        }

        settings["INSTADEPLOY_POSTGRES"] = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Password = "wrong-password-9876543210" }.ConnectionString;
        (exitCode, _, error) = await RunAsync(settings, "backup", "--to", Folder("backups-2"));
        Assert.Equal(1, exitCode);
        Assert.Contains("password authentication failed", error);
        Assert.DoesNotContain("wrong-password", error);
        Assert.False(Directory.Exists(Folder("backups-2")));
    }

    [Fact]
    public async Task TheBackupEndpointAnswersAnArchiveOfTheDatabaseAndKeepsNoCopy()
    {
        var (original, _) = await InstallationAsync();
        await using var controlPlane = new ControlPlaneFactory(Settings(original, "original"));
        using var admin = controlPlane.CreateApiClient();
        using var response = await admin.PostAsync("/admin/backup", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(BackupsApi.PostgresContentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Matches(@"^instadeploy-\d{8}T\d{6}Z\.pgdump$", response.Content.Headers.ContentDisposition?.FileName);
        var downloaded = Folder("downloaded.pgdump");
        await File.WriteAllBytesAsync(downloaded, await response.Content.ReadAsByteArrayAsync());
        var backup = await DatabaseBackup.DescribeArchiveAsync(downloaded, null, CancellationToken.None);
        Assert.Equal(DatabaseSchema.KnownPostgresMigrations[^1], backup.Schema);
        Assert.Equal(2, backup.Rows["ApiKeys"]);
        Assert.Empty(Directory.GetFiles(Folder("original"), ".backup-*"));
        var audit = await admin.GetJsonAsync("/audit?action=backup.download");
        Assert.Equal("succeeded", audit.GetProperty("entries")[0].GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task WhenPgDumpFailsTheEndpointAnswersAProblemWithItsErrorsSummarised()
    {
        var (original, _) = await InstallationAsync();
        // pg_dump as a server that refuses it: the version it says is current, the dump fails with a long error.
        var tools = FakeTools($"pg_dump (PostgreSQL) 99.0", dump: "echo 'pg_dump: error: query failed: ERROR:  permission denied for table Jobs' >&2; "
            + "for i in $(seq 1 200); do echo \"pg_dump: detail: line $i $(printf '%0500d' 0)\" >&2; done; exit 1");
        await using var controlPlane = new ControlPlaneFactory(Settings(original, "original", tools));
        using var admin = controlPlane.CreateApiClient();
        using var response = await admin.PostAsync("/admin/backup", null);
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var detail = (await response.ReadJsonAsync()).GetProperty("detail").GetString()!;
        Assert.StartsWith("pg_dump failed (exit code 1): pg_dump: error: query failed: ERROR:  permission denied for table Jobs (… 194 more line(s) …)", detail);
        Assert.Contains("pg_dump: detail: line 200", detail);
        Assert.InRange(detail.Length, 100, 2500); // the last lines, each cut short
        Assert.Empty(Directory.GetFiles(Folder("original"), ".backup-*"));
        var audit = await admin.GetJsonAsync("/audit?action=backup.download");
        var entry = audit.GetProperty("entries")[0];
        Assert.Equal(("refused", 500), (entry.GetProperty("outcome").GetString(), entry.GetProperty("status").GetInt32()));
    }

    [Fact]
    public void ThePgBinDirSettingIsCheckedAtStart()
    {
        var empty = Folder("no-tools");
        Directory.CreateDirectory(empty);
        var problem = new ControlPlaneOptionsValidator().Validate(null, new ControlPlaneOptions { AgentSecretToken = ControlPlaneFactory.DefaultAgentToken, PgBinDirectory = empty });
        Assert.True(problem.Failed);
        Assert.Contains($"{PgTools.BinDirectorySetting} is '{empty}'", problem.FailureMessage);
    }

    [Fact]
    public void TheProgramsAreFoundInTheSettingThenOnPathThenInTheNewestDebianFolder()
    {
        var debian = Folder("usr-lib-postgresql");
        foreach (var version in new[] { "9.6", "15", "16" }) Executable(Path.Combine(debian, version, "bin", "pg_dump"));
        Directory.CreateDirectory(Path.Combine(debian, "17", "bin")); // a server package without its client
        var onPath = Executable(Path.Combine(Folder("path"), "pg_dump"));
        var wrapperFolder = Folder("usr-bin");
        var wrapper = Executable(Path.Combine(Folder("share"), "pg_wrapper"));
        Directory.CreateDirectory(wrapperFolder);
        File.CreateSymbolicLink(Path.Combine(wrapperFolder, "pg_dump"), wrapper);
        var tools = FakeTools("pg_dump (PostgreSQL) 16.1");

        Assert.Equal(Path.Combine(tools, "pg_dump"), PgTools.Find("pg_dump", tools, Folder("path"), debian));
        Assert.Equal(onPath, PgTools.Find("pg_dump", null, $"{Folder("nothing")}:{Folder("path")}", debian));
        Assert.Equal(Path.Combine(debian, "16", "bin", "pg_dump"), PgTools.Find("pg_dump", null, wrapperFolder, debian)); // not Debian's wrapper
        Assert.Equal(Path.Combine(debian, "16", "bin", "pg_dump"), PgTools.Find("pg_dump", null, Folder("nothing"), debian));
        var missing = Assert.Throws<BackupSetupException>(() => PgTools.Find("pg_dump", null, Folder("nothing"), Folder("nothing")));
        Assert.Contains("pg_dump was not found", missing.Message);
        Assert.Contains(PgTools.BinDirectorySetting, missing.Message);
    }

    [Theory]
    [InlineData("""COPY public."ProjectVariables" ("Name", "Value", "Secret") FROM stdin;""", "ProjectVariables", "Name,Value,Secret")]
    [InlineData("COPY public.\"Odd \"\"name\"\"\" (\"a\"\"b\", plain) FROM stdin;", "Odd \"name\"", "a\"b,plain")]
    public void ACopyLineNamesItsTableAndColumns(string line, string table, string columns)
    {
        var parsed = PgArchive.ParseCopy(line);
        Assert.Equal((table, columns), (parsed.Table, string.Join(',', parsed.Columns)));
    }

    [Theory]
    [InlineData("\\N", null)]
    [InlineData("plain", "plain")]
    [InlineData("a\\tb\\\\c\\nd\\re", "a\tb\\c\nd\re")]
    public void ACopyFieldDecodesAsPostgreSqlWroteIt(string field, string? value) => Assert.Equal(value, PgArchive.Decode(field));

    /// <summary>A folder with a pg_dump that answers <paramref name="version"/> to --version and runs
    /// <paramref name="dump"/> otherwise, and (unless told not to) the real pg_restore.</summary>
    private string FakeTools(string version, string dump = "exit 1", bool restore = true)
    {
        var folder = Folder("fake-tools-" + Guid.NewGuid().ToString("N")[..6]);
        Executable(Path.Combine(folder, "pg_dump"), $"#!/bin/sh\nif [ \"$1\" = --version ]; then echo '{version}'; exit 0; fi\n{dump}\n");
        if (restore) File.CreateSymbolicLink(Path.Combine(folder, "pg_restore"), PgTools.Find("pg_restore", null));
        return folder;
    }

    private static string Executable(string path, string content = "#!/bin/sh\nexit 0\n")
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    public void Dispose()
    {
        foreach (var database in _databases) database.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
