using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using InstaDeploy.ControlPlane.Backups;

namespace InstaDeploy.EndToEnd.Tests.Deployment;

/// <summary>
/// Backup and restore as docs/DEPLOYMENT.md gives them, with real processes, a real agent and the real Docker engine,
/// on each store: both backups (the command and the admin endpoint) are taken while jobs run and variables are
/// written; the control plane is then killed (the machine is lost, and on PostgreSQL its database is dropped), the
/// backup and the key ring backup are restored into an empty folder (and an empty database), and a new control plane
/// on it has every job, revision, API key, agent key and secret variable, working. PostgreSQL is the test server
/// eng/setup-postgres.sh starts (eng/test.sh runs it), or the one INSTADEPLOY_TEST_POSTGRES names.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BackupRestoreTests
{
    private const string AgentId = "restore-agent";
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Its container prints nothing secret; the test reads its environment with docker inspect.</summary>
    private static string Compose(string version) => $$"""
        services:
          app:
            image: local/busybox:1
            init: true
            env_file: .env
            command: ["sleep", "600"]
            labels:
              version: "{{version}}"
        """;

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task ABackupTakenUnderLoadRestoresIntoAnEmptyFolderWithEverythingWorking(string store)
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        await using var fleet = new ProcessFleet();
        var postgres = store == "postgres";
        using var originalDatabase = postgres ? TestPostgres.Create(TestPostgres.Server()) : null;
        using var restoredDatabase = postgres ? TestPostgres.Create(TestPostgres.Server()) : null;
        // The load below polls its jobs; the per-key rate limit is not what this test is about.
        var settings = new Dictionary<string, string> { ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "100000" };
        // The store is named either way, so a run with INSTADEPLOY_POSTGRES in the environment tests SQLite too.
        var storeOf = (TestPostgres? database) => new Dictionary<string, string> { ["INSTADEPLOY_POSTGRES"] = database?.ConnectionString ?? "" };
        var extension = postgres ? ".pgdump" : ".db";
        var original = await fleet.StartControlPlaneAsync(new Dictionary<string, string>(settings).Concat(storeOf(originalDatabase)).ToDictionary());
        using var admin = fleet.CreateApiClient();
        var project = "restore-" + Guid.NewGuid().ToString("N")[..8];
        var secret = "pw-" + Guid.NewGuid().ToString("N")[..16];
        try
        {
            // An installation in use: a CI key, an enrolled agent (its own key), a project with a secret, deployed once.
            var ciKey = (await CreatedAsync(admin, "/api-keys", new { name = "ci", scopes = new[] { "deploy" } })).GetProperty("key").GetString()!;
            var enrollment = (await CreatedAsync(admin, "/enrollment-tokens", new { name = AgentId })).GetProperty("token").GetString()!;
            fleet.StartAgent(AgentId, settings: new Dictionary<string, string> { ["AGENT_ENROLLMENT_TOKEN"] = enrollment });
            using var ci = new HttpClient { BaseAddress = fleet.ControlPlaneUrl };
            ci.DefaultRequestHeaders.Authorization = new("Bearer", ciKey);
            await ci.WaitForAgentOnlineAsync(AgentId, TimeSpan.FromSeconds(60));
            await PutVariableAsync(admin, project, "DB_PASSWORD", secret, secret: true);
            await PutVariableAsync(admin, project, "LOG_LEVEL", "info", secret: false);
            var firstDeploy = await SendAsync(ci, "/deploy", new { project_name = project, compose_file_base64 = Base64(Compose("v1")) });
            Assert.True(firstDeploy.GetProperty("status").GetString() == "COMPLETED", firstDeploy.GetRawText());

            // Load: health checks sent to the agent and followed to their end in three loops, and variables written.
            using var stopLoad = new CancellationTokenSource();
            var accepted = new ConcurrentQueue<string>();
            var loops = Enumerable.Range(0, 3).Select(_ => Task.Run(() => HealthChecksAsync(ci, accepted, stopLoad.Token)))
                .Append(Task.Run(() => VariableWritesAsync(admin, project, stopLoad.Token))).ToList();
            await Eventually.TrueAsync(() => accepted.Count >= 20, TimeSpan.FromSeconds(60), "the load to run");

            var acceptedBeforeBackup = accepted.ToList(); // each answered 202, so committed, before the backup began
            var backups = Path.Combine(fleet.Root, "backups", "database");
            var keyRingBackup = Path.Combine(fleet.Root, "key-ring-backup");
            var (exitCode, output) = await fleet.RunControlPlaneCommandAsync(storeOf(originalDatabase), "backup", "--to", backups, "--keys-to", keyRingBackup);
            Assert.True(exitCode == 0, output);
            Assert.Contains(postgres ? "read back whole by pg_restore" : "integrity ok", output);
            Assert.Contains("it decrypts 2 of the 2 secret value(s)", output); // the variable, and revision 1's snapshot

            using var download = await admin.PostAsync("/admin/backup", null);
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal(postgres ? BackupsApi.PostgresContentType : BackupsApi.ContentType, download.Content.Headers.ContentType?.MediaType);
            var downloaded = Path.Combine(fleet.Root, "downloaded" + extension);
            await File.WriteAllBytesAsync(downloaded, await download.Content.ReadAsByteArrayAsync());
            var acceptedByTheEnd = accepted.Count;
            Assert.True(acceptedByTheEnd > acceptedBeforeBackup.Count, "no job was accepted while the backups were taken: that was no backup under load");
            await stopLoad.CancelAsync();
            await Task.WhenAll(loops);
            Assert.Empty(Directory.GetFiles(fleet.ControlPlaneDataDirectory, ".backup-*")); // the endpoint keeps no copy

            // Both backups are sound snapshots taken mid-load; the files are owner-only, and hold no secret in clear.
            var backup = Assert.Single(Directory.GetFiles(backups, "instadeploy-*" + extension));
            foreach (var sound in new[] { backup, downloaded })
            {
                var described = postgres
                    ? await DatabaseBackup.DescribeArchiveAsync(sound, null, CancellationToken.None)
                    : await DatabaseBackup.DescribeAsync(sound, CancellationToken.None);
                Assert.InRange(described.Rows["Jobs"], acceptedBeforeBackup.Count + 1, acceptedByTheEnd + 1); // + the deploy
                await SecretScan.AssertNotInFilesAsync(Path.GetDirectoryName(sound)!, Path.GetFileName(sound), secret);
            }
            Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(backup));
            Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(backups));
            Assert.All(Directory.GetFiles(keyRingBackup), key => Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(key)));

            // The machine is lost. A new control plane is restored into an empty folder and started on the same address.
            original.Kill();
            await original.WaitForExitAsync();
            originalDatabase?.Dispose();
            var restoredData = Path.Combine(fleet.Root, "restored");
            var restoredStore = new Dictionary<string, string>(storeOf(restoredDatabase)) { ["INSTADEPLOY_DATA_DIR"] = restoredData };
            (exitCode, output) = await fleet.RunControlPlaneCommandAsync(restoredStore, "restore", "--from", backup, "--keys-from", keyRingBackup);
            Assert.True(exitCode == 0, output);
            Assert.Contains("decrypts all 2 secret value(s)", output);
            await fleet.StartControlPlaneAsync(new Dictionary<string, string>(settings).Concat(restoredStore).ToDictionary());

            // The agent is back by itself, with its own key (an enrolled id accepts nothing else); the CI key works.
            await ci.WaitForAgentOnlineAsync(AgentId, TimeSpan.FromSeconds(90));
            var keys = await admin.GetJsonAsync("/api-keys");
            Assert.Contains(keys.EnumerateArray(), k => k.GetProperty("name").GetString() == "ci" && k.GetProperty("active").GetBoolean());

            // Every job accepted before the backup is there and ends COMPLETED (the ones still open in the backup are sent again).
            foreach (var jobId in acceptedBeforeBackup)
            {
                var job = await ci.WaitForJobAsync(jobId, TimeSpan.FromMinutes(2));
                Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
            }
            var deployJob = await ci.GetJsonAsync($"/jobs/{firstDeploy.GetProperty("job_id").GetString()}");
            Assert.Equal("COMPLETED", deployJob.GetProperty("status").GetString());
            Assert.Contains("Deployment successful (revision 1)", deployJob.GetProperty("logs").GetString());
            var revisions = (await ci.GetJsonAsync($"/deployments/{project}/revisions")).EnumerateArray().ToList();
            Assert.Equal([(1, "succeeded")], revisions.Select(r => (r.GetProperty("revision").GetInt32(), r.GetProperty("outcome").GetString())));
            var variables = (await ci.GetJsonAsync($"/deployments/{project}/env")).GetProperty("variables").EnumerateArray().ToList();
            Assert.Contains(variables, v => v.GetProperty("name").GetString() == "DB_PASSWORD" && v.GetProperty("secret").GetBoolean());

            // The secret deploys with its value: in a new deploy, and in a rollback to the revision made before the backup.
            var secondDeploy = await SendAsync(ci, "/deploy", new { project_name = project, compose_file_base64 = Base64(Compose("v2")) });
            Assert.True(secondDeploy.GetProperty("status").GetString() == "COMPLETED", secondDeploy.GetRawText());
            Assert.Equal(("v2", secret), await RunningAsync(project));
            var rollback = await SendAsync(ci, $"/deployments/{project}/rollback", new { revision = 1 });
            Assert.True(rollback.GetProperty("status").GetString() == "COMPLETED", rollback.GetRawText());
            Assert.Equal(("v1", secret), await RunningAsync(project));
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static async Task<JsonElement> CreatedAsync(HttpClient api, string path, object body)
    {
        using var response = await api.PostJsonAsync(path, body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.ReadJsonAsync();
    }

    private static async Task PutVariableAsync(HttpClient api, string project, string name, string value, bool secret)
    {
        using var response = await api.PutAsJsonAsync($"/deployments/{project}/env/{name}", new { value, secret }, Api.Json);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement> SendAsync(HttpClient api, string path, object body)
    {
        using var response = await api.PostJsonAsync(path, body);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(2));
    }

    /// <summary>The version label and DB_PASSWORD of the project's one running container.</summary>
    private static async Task<(string Version, string? Password)> RunningAsync(string project)
    {
        var container = Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
        var version = (await DockerCli.RunAsync("inspect", "-f", "{{index .Config.Labels \"version\"}}", container)).Output.Trim();
        var environment = (await DockerCli.RunAsync("inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", container)).Output.Split('\n');
        return (version, environment.FirstOrDefault(e => e.StartsWith("DB_PASSWORD=", StringComparison.Ordinal))?["DB_PASSWORD=".Length..]);
    }

    private static async Task HealthChecksAsync(HttpClient api, ConcurrentQueue<string> accepted, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            using var response = await api.PostAsync($"/agents/{AgentId}/health", null, CancellationToken.None);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
            accepted.Enqueue(jobId);
            await api.WaitForJobAsync(jobId);
        }
    }

    private static async Task VariableWritesAsync(HttpClient api, string project, CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            await PutVariableAsync(api, project, $"LOAD_{i % 20}", $"value-{i}", secret: false);
            try { await Task.Delay(20, stop); } catch (OperationCanceledException) { }
        }
    }
}
