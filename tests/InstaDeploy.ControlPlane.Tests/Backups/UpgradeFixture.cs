using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using InstaDeploy.ControlPlane.Backups;

namespace InstaDeploy.ControlPlane.Tests.Backups;

/// <summary>What an upgrade fixture holds besides its database and key ring: the secrets in clear and what to expect.</summary>
public sealed record UpgradeFixtureManifest(
    string Schema, DateTimeOffset MadeAt, string CiApiKey, string RevokedApiKey, string AgentId, string AgentKey,
    string Project, string SecretName, string SecretValue, Dictionary<string, long> Rows, Dictionary<string, string> Jobs,
    string? RolloutId = null, string? RegistryHost = null, string? WebhookId = null, string? WebhookSecret = null);

/// <summary>
/// An upgrade fixture: a database made by one schema version, through the REST API and the wire protocol only, with
/// rows in every table, plus its key ring and a manifest. One is committed per schema under UpgradeFixtures/; every later
/// build must start on each of them with everything usable (<see cref="CheckAsync"/>).
/// </summary>
public static class UpgradeFixture
{
    public const string SeedAgentId = "fixture-seed";
    public const string DatabaseFile = "instadeploy.db";
    public const string ManifestFile = "fixture.json";
    public const string KeysFolder = "keys";

    /// <summary>A migration no build has: a database carrying it looks migrated by a newer release.</summary>
    public const string FutureMigration = "29991231000000_FromANewerRelease";

    private static readonly JsonSerializerOptions ManifestJson = new(InstaDeploy.Testing.Api.Json) { WriteIndented = true };

    public static string CommittedFolder => Path.Combine(DockerCli.RepositoryRoot(), "tests", "InstaDeploy.ControlPlane.Tests", "Backups", "UpgradeFixtures");

    private static string Compose(string version) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"services:\n  web:\n    image: local/busybox:{version}\n    env_file: .env\n"));

    private static async Task<JsonElement> Send(HttpClient api, string path, object body, HttpStatusCode expected = HttpStatusCode.Accepted)
    {
        using var response = await api.PostJsonAsync(path, body);
        Assert.True(response.StatusCode == expected, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync();
    }

    /// <summary>What the fixture's running job streamed.</summary>
    private const string StreamedOutput = "step 1 of 3\nstep 2 of 3\n";

    /// <summary>Makes a fixture with this build into <paramref name="folder"/>.</summary>
    public static async Task<UpgradeFixtureManifest> MakeAsync(string folder)
    {
        var secret = "fixture-secret-" + Guid.NewGuid().ToString("N")[..12];
        var jobs = new Dictionary<string, string>();
        string ciKey, revokedKey, agentKey;
        var work = Directory.CreateTempSubdirectory("instadeploy-fixture-").FullName;
        using var releaseKey = new TestReleaseKey();
        await using (var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?>
        {
            [ControlPlaneFactory.SqliteSetting] = "", ["INSTADEPLOY_DATA_DIR"] = work, ["INSTADEPLOY_RELEASE_PUBLIC_KEYS"] = releaseKey.PublicPem,
        }))
        {
            using var admin = controlPlane.CreateApiClient();
            ciKey = (await Send(admin, "/api-keys", new { name = "ci", scopes = new[] { "deploy" }, host_access = true }, HttpStatusCode.Created)).GetProperty("key").GetString()!;
            var revoked = await Send(admin, "/api-keys", new { name = "retired", scopes = new[] { "read" } }, HttpStatusCode.Created);
            revokedKey = revoked.GetProperty("key").GetString()!;
            (await admin.DeleteAsync($"/api-keys/{revoked.GetProperty("id").GetString()}")).EnsureSuccessStatusCode();
            using var ci = controlPlane.CreateApiClient(ciKey);

            // An enrolled agent (its own key), taking project variables; and a seed-protocol agent on the shared token.
            var enrollment = await Send(admin, "/enrollment-tokens", new { name = "fixture-enrolled" }, HttpStatusCode.Created);
            await Send(admin, "/enrollment-tokens", new { name = "never-used", uses = 3 }, HttpStatusCode.Created);
            using var anonymous = controlPlane.CreateApiClient(apiKey: null);
            anonymous.DefaultRequestHeaders.Authorization = new("Bearer", enrollment.GetProperty("token").GetString());
            agentKey = (await Send(anonymous, "/agents/enroll", new { agent_id = "fixture-enrolled" }, HttpStatusCode.OK)).GetProperty("agent_key").GetString()!;
            var failNext = false;
            await using var enrolled = new SeedAgent((_, type, _) => type == "LONG_TASK" ? null
                : type == "DEPLOY_COMPOSE" && failNext ? ("FAILED", "pulling\n", "image not found") : ("COMPLETED", $"{type} done\n", ""));
            await enrolled.ConnectAsync(controlPlane.WebSocketUrl, agentKey, "fixture-enrolled", features: "project-config,agent-updates");
            await using var seed = new SeedAgent((_, type, _) => ("COMPLETED", $"{type} done\n", ""));
            await seed.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, SeedAgentId);
            await admin.WaitForAgentOnlineAsync("fixture-enrolled");
            await admin.WaitForAgentOnlineAsync(SeedAgentId);

            // fixture-app on the enrolled agent: variables (a secret, a plain one, a per-agent override), revision 1
            // succeeded, revision 2 failed, a status. other-app on the seed agent: deployed, checked, stopped.
            foreach (var (name, value, isSecret, agent) in new[] { ("DB_PASSWORD", secret, true, (string?)null), ("LOG_LEVEL", "info", false, null), ("LOG_LEVEL", "debug", false, "fixture-enrolled") })
                (await admin.PutAsJsonAsync($"/deployments/fixture-app/env/{name}", new { value, secret = isSecret, agent_id = agent }, InstaDeploy.Testing.Api.Json)).EnsureSuccessStatusCode();
            async Task Run(string label, string path, object body)
            {
                var id = (await Send(ci, path, body)).GetProperty("job_id").GetString()!;
                jobs[id] = (await ci.WaitForJobAsync(id)).GetProperty("status").GetString()!;
            }
            await Run("deploy 1", "/deploy", new { project_name = "fixture-app", agent_id = "fixture-enrolled", compose_file_base64 = Compose("1") });
            failNext = true;
            await Run("deploy 2", "/deploy", new { project_name = "fixture-app", agent_id = "fixture-enrolled", compose_file_base64 = Compose("2") });
            await Run("status", "/status", new { project_name = "fixture-app" });
            await Run("seed deploy", "/deploy", new { project_name = "other-app", agent_id = SeedAgentId, compose_file_base64 = Convert.ToBase64String("services:\n  web:\n    image: local/busybox:1\n"u8.ToArray()) });
            // A finished rollout of other-app to the seed agent: its targets and events.
            var rollout = (await Send(ci, "/rollouts", new
            {
                project_name = "other-app",
                compose_file_base64 = Convert.ToBase64String("services:\n  web:\n    image: local/busybox:1\n"u8.ToArray()),
                targets = new { agent_ids = new[] { SeedAgentId } },
                strategy = new { max_parallel = 1 },
            }, HttpStatusCode.Created)).GetProperty("rollout_id").GetString()!;
            await Eventually.TrueAsync(async () => (await ci.GetJsonAsync($"/rollouts/{rollout}")).GetProperty("state").GetString() == "succeeded",
                TimeSpan.FromSeconds(30), "the fixture's rollout to succeed");
            foreach (var target in (await ci.GetJsonAsync($"/rollouts/{rollout}")).GetProperty("targets").EnumerateArray())
                jobs[target.GetProperty("job_id").GetString()!] = "COMPLETED";
            await Run("seed health", $"/agents/{SeedAgentId}/health", new { });
            await Run("seed stop", "/stop", new { project_name = "other-app" });

            // A job still running, with output streamed so far (stored as JobOutput chunks until it ends).
            var running = (await Send(ci, "/agents/fixture-enrolled/commands", new { type = "LONG_TASK" })).GetProperty("job_id").GetString()!;
            await Eventually.TrueAsync(() => { lock (enrolled.ReceivedCommands) return enrolled.ReceivedCommands.Any(c => c.GetProperty("id").GetString() == running); },
                TimeSpan.FromSeconds(10), "the long task to reach its agent");
            await enrolled.SendRawAsync(JsonSerializer.Serialize(new { job_id = running, status = "RUNNING", logs = StreamedOutput, error = "" }));
            await Eventually.TrueAsync(async () => (await ci.GetJsonAsync($"/jobs/{running}")).GetProperty("status").GetString() == "RUNNING",
                TimeSpan.FromSeconds(10), "the long task's output to be stored");
            jobs[running] = "RUNNING";

            // A job waiting for its agent, which has gone.
            await seed.DisposeAsync();
            await Eventually.TrueAsync(async () => !(await admin.GetJsonAsync($"/agents/{SeedAgentId}")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), "the seed agent to be offline");
            var pending = await Send(ci, "/deploy", new { project_name = "other-app", agent_id = SeedAgentId, queue_ttl_seconds = 30 * 86_400, compose_file_base64 = Convert.ToBase64String("services:\n  web:\n    image: local/busybox:1\n"u8.ToArray()) });
            jobs[pending.GetProperty("job_id").GetString()!] = "PENDING";
            Assert.Equal(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "PENDING", "RUNNING"], jobs.Values.Order());

            // A registry login (for a selector no fixture agent matches, so the deploys to its seed-protocol agents stay
            // possible), a webhook and a delivery it accepted, and the storage probe (/health writes it). The audit log
            // filled itself on the way.
            const string registryHost = "registry.fixture.example:5000";
            (await admin.PutAsJsonAsync($"/registries/{registryHost}", new { username = "fixture-bot", password = "fixture-registry-" + secret, selector = "role=nobody" },
                InstaDeploy.Testing.Api.Json)).EnsureSuccessStatusCode();
            var webhook = await Send(ci, "/webhooks", new { name = "fixture hook", project_name = "fixture-app", branch = "main" }, HttpStatusCode.Created);
            var webhookId = webhook.GetProperty("webhook").GetProperty("id").GetString()!;
            var webhookSecret = webhook.GetProperty("secret").GetString()!;
            Assert.Equal(HttpStatusCode.OK, await PingAsync(controlPlane, webhookId, webhookSecret, "fixture-delivery-1"));
            (await admin.GetAsync("/health")).Dispose();

            // An agent release (its row; the file stays in the work folder, as bundles are not part of a database).
            var bundle = Path.Combine(work, "fixture-agent.tar.gz");
            var signature = await releaseKey.PackAndSignAsync(TestBundles.ScriptAgentFolder(work, "fixture-agent", "#!/bin/sh\nexit 0\n"),
                new InstaDeploy.Contracts.Bundles.BundleManifest { Kind = "agent", Name = "InstaDeploy.Agent", Version = "1.1.0", Architecture = "linux-amd64", Entry = "InstaDeploy.Agent" }, bundle);
            using (var uploaded = await admin.UploadAsync("/agent-releases", bundle, signature))
                Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);

            // That release rolled out to the enrolled agent (its last update, kept on the agent), and a metrics sample the
            // agent sent (written by the next flush; made now).
            var update = (await Send(admin, "/agent-releases/1.1.0/rollouts", new { targets = new { agent_ids = new[] { "fixture-enrolled" } } }, HttpStatusCode.Created))
                .GetProperty("rollout_id").GetString()!;
            await Eventually.TrueAsync(async () => (await admin.GetJsonAsync($"/rollouts/{update}")).GetProperty("state").GetString() == "succeeded",
                TimeSpan.FromSeconds(30), "the fixture's agent update to succeed");
            foreach (var target in (await admin.GetJsonAsync($"/rollouts/{update}")).GetProperty("targets").EnumerateArray())
                jobs[target.GetProperty("job_id").GetString()!] = "COMPLETED";
            Assert.Equal("updated", (await admin.GetJsonAsync("/agents/fixture-enrolled")).GetProperty("last_update").GetProperty("outcome").GetString());
            await enrolled.SendRawAsync(JsonSerializer.Serialize(new
            {
                type = "AGENT_METRICS", at = DateTimeOffset.UtcNow, cpu_percent = 12.5, cpu_count = 4, memory_total_bytes = 8L << 30, memory_used_bytes = 3L << 30,
                disk_total_bytes = 100L << 30, disk_free_bytes = 40L << 30,
                containers = new[] { new { id = "0123456789ab", name = "fixture-app-web-1", project = "fixture-app", cpu_percent = 1.5, memory_bytes = 64L << 20, memory_limit_bytes = 8L << 30 } },
            }));
            await Eventually.TrueAsync(async () => (await admin.GetAsync("/agents/fixture-enrolled/metrics")).IsSuccessStatusCode, TimeSpan.FromSeconds(10), "the fixture's metrics sample");
            await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<InstaDeploy.ControlPlane.Agents.AgentMetricsStore>(controlPlane.Services).FlushAsync(CancellationToken.None);

            // The fixture's database is a consistent single-file copy (no WAL beside it), made as a backup makes it.
            Directory.CreateDirectory(folder);
            var database = Path.Combine(folder, DatabaseFile);
            File.Delete(database);
            var backup = await DatabaseBackup.WriteAsync(Path.Combine(work, DatabaseFile), database, CancellationToken.None);
            // JobCountDeltas is PostgreSQL's: on SQLite the job counters are updated in place and it stays empty.
            Assert.All(backup.Rows.Where(t => t.Key != "JobCountDeltas"), table => Assert.True(table.Value > 0, $"the fixture has no row in {table.Key}"));
            await KeyRingBackup.CopyAsync(Path.Combine(work, KeysFolder), Path.Combine(folder, KeysFolder), CancellationToken.None);

            var manifest = new UpgradeFixtureManifest(backup.Schema!, DateTimeOffset.UtcNow, ciKey, revokedKey, "fixture-enrolled", agentKey,
                "fixture-app", "DB_PASSWORD", secret, new Dictionary<string, long>(backup.Rows), jobs, rollout, registryHost, webhookId, webhookSecret);
            await File.WriteAllTextAsync(Path.Combine(folder, ManifestFile), JsonSerializer.Serialize(manifest, ManifestJson));
            return manifest;
        }
    }

    /// <summary>A GitHub ping to a webhook, signed with its secret; the status it was answered with.</summary>
    private static async Task<HttpStatusCode> PingAsync(ControlPlaneFactory controlPlane, string webhookId, string secret, string deliveryId)
    {
        using var anonymous = controlPlane.CreateApiClient(apiKey: null);
        var body = Encoding.UTF8.GetBytes($$"""{"zen":"Keep it logically awesome.","delivery":"{{deliveryId}}"}""");
        using var call = new HttpRequestMessage(HttpMethod.Post, $"/hooks/{webhookId}") { Content = new ByteArrayContent(body) };
        call.Headers.TryAddWithoutValidation("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        call.Headers.Add("X-GitHub-Delivery", deliveryId);
        call.Headers.Add("X-GitHub-Event", "ping");
        using var answer = await anonymous.SendAsync(call);
        return answer.StatusCode;
    }

    public static async Task AddMigrationFromTheFutureAsync(string database)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Pooling=False");
        await connection.OpenAsync();
        await using var insert = connection.CreateCommand();
        insert.CommandText = $"INSERT INTO __EFMigrationsHistory (MigrationId, ProductVersion) VALUES ('{FutureMigration}', '99.0.0')";
        await insert.ExecuteNonQueryAsync();
    }

    public static UpgradeFixtureManifest ReadManifest(string folder) =>
        JsonSerializer.Deserialize<UpgradeFixtureManifest>(File.ReadAllText(Path.Combine(folder, ManifestFile)), ManifestJson)!;

    /// <summary>Starts this build on a copy of the fixture and checks that its rows are there and work: jobs, revisions,
    /// API keys, enrollment tokens, agents (the enrolled one connects with its key), deployments and variables (a deploy
    /// and a rollback carry the secret's value to the agent).</summary>
    public static async Task CheckAsync(string folder)
    {
        var fixture = ReadManifest(folder);
        var data = Directory.CreateTempSubdirectory("instadeploy-upgrade-").FullName;
        File.Copy(Path.Combine(folder, DatabaseFile), Path.Combine(data, DatabaseFile));
        await KeyRingBackup.CopyAsync(Path.Combine(folder, KeysFolder), Path.Combine(data, KeysFolder), CancellationToken.None);

        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { [ControlPlaneFactory.SqliteSetting] = "", ["INSTADEPLOY_DATA_DIR"] = data });
        try
        {
            using var admin = controlPlane.CreateApiClient();
            using var ci = controlPlane.CreateApiClient(fixture.CiApiKey);
            using var retired = controlPlane.CreateApiClient(fixture.RevokedApiKey);

            // Migrated to this build's schema, nothing lost on the way.
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            var migrated = await DatabaseBackup.DescribeAsync(Path.Combine(data, DatabaseFile), CancellationToken.None);
            Assert.Equal(DatabaseSchema.KnownMigrations[^1], migrated.Schema);
            // An operator is told when a start migrates the database (after which an older release refuses it).
            Assert.Equal(fixture.Schema != DatabaseSchema.KnownMigrations[^1],
                controlPlane.Logs.Lines.Any(l => l.Contains($"is at schema {fixture.Schema}; migrating it to {DatabaseSchema.KnownMigrations[^1]}", StringComparison.Ordinal)));
            foreach (var (table, rows) in fixture.Rows.Where(t => t.Key != "JobOutput")) // streamed output moves into its job's logs when the job ends
                Assert.True(migrated.Rows.GetValueOrDefault(table) >= rows, $"{table}: {migrated.Rows.GetValueOrDefault(table)} rows, the fixture had {rows}");

            foreach (var (id, status) in fixture.Jobs)
            {
                var job = await ci.GetJsonAsync($"/jobs/{id}");
                // The waiting job may have passed its queue expiry since the fixture was made, the running one its deadline;
                // either way the running one keeps the output it streamed.
                string[] allowed = status switch { "PENDING" => ["PENDING", "EXPIRED"], "RUNNING" => ["RUNNING", "TIMED_OUT"], _ => [status] };
                Assert.Contains(job.GetProperty("status").GetString(), allowed);
                if (status == "RUNNING") Assert.Contains(StreamedOutput, job.GetProperty("logs").GetString());
            }
            // The job counters start from the jobs the database had (counted by the migration that made them, or kept since).
            var summary = await ci.GetJsonAsync("/jobs/summary");
            Assert.Equal(migrated.Rows["Jobs"], summary.GetProperty("total").GetInt64());
            Assert.Equal(migrated.Rows["Jobs"], summary.GetProperty("agents").EnumerateArray().Sum(a => a.GetProperty("total").GetInt64()));
            var revisions = (await ci.GetJsonAsync($"/deployments/{fixture.Project}/revisions")).EnumerateArray()
                .Select(r => (r.GetProperty("revision").GetInt32(), r.GetProperty("outcome").GetString())).ToList();
            Assert.Equal([(2, "failed"), (1, "succeeded")], revisions);
            Assert.Equal(2, (await ci.GetJsonAsync("/deployments")).GetArrayLength());
            if (fixture.Rows.ContainsKey("AgentMetrics")) // fixtures made since metrics and update outcomes are kept
            {
                var metrics = await ci.GetJsonAsync($"/agents/{fixture.AgentId}/metrics");
                Assert.Equal(12.5, metrics.GetProperty("metrics").GetProperty("cpu_percent").GetDouble());
                Assert.Equal("fixture-app", metrics.GetProperty("metrics").GetProperty("containers")[0].GetProperty("project").GetString());
                Assert.Equal("updated", (await ci.GetJsonAsync($"/agents/{fixture.AgentId}")).GetProperty("last_update").GetProperty("outcome").GetString());
            }
            if (fixture.RolloutId is { } rolloutId) // fixtures made since rollouts exist
            {
                var rollout = await ci.GetJsonAsync($"/rollouts/{rolloutId}");
                Assert.Equal("succeeded", rollout.GetProperty("state").GetString());
                Assert.Single(rollout.GetProperty("targets").EnumerateArray());
            }
            if (fixture.WebhookId is { } webhookId) // fixtures made since registry logins, the audit log and webhooks exist
            {
                Assert.Contains(fixture.RegistryHost!, (await admin.GetJsonAsync("/registries")).EnumerateArray().Select(r => r.GetProperty("host").GetString()));
                // The webhook's secret, encrypted under the fixture's key ring, still verifies.
                Assert.Equal(HttpStatusCode.OK, await PingAsync(controlPlane, webhookId, fixture.WebhookSecret!, "after-upgrade-1"));
                Assert.Equal(HttpStatusCode.Unauthorized, await PingAsync(controlPlane, webhookId, "not-" + fixture.WebhookSecret, "after-upgrade-2"));
                Assert.NotEmpty((await admin.GetJsonAsync("/audit?action=webhook.create")).GetProperty("entries").EnumerateArray());
            }
            Assert.Equal(HttpStatusCode.Unauthorized, (await retired.GetAsync("/agents")).StatusCode);
            var keys = (await admin.GetJsonAsync("/api-keys")).EnumerateArray().ToDictionary(k => k.GetProperty("name").GetString()!, k => k.GetProperty("active").GetBoolean());
            Assert.True(keys["ci"]);
            Assert.False(keys["retired"]);
            Assert.Equal(2, (await admin.GetJsonAsync("/enrollment-tokens")).GetArrayLength());
            Assert.Equal([fixture.AgentId, SeedAgentId], (await ci.GetJsonAsync("/agents")).EnumerateArray().Select(a => a.GetProperty("id").GetString()).Order());
            var variables = (await ci.GetJsonAsync($"/deployments/{fixture.Project}/env")).GetProperty("variables").EnumerateArray().ToList();
            Assert.Equal(3, variables.Count);
            Assert.Contains(variables, v => v.GetProperty("name").GetString() == fixture.SecretName && v.GetProperty("value").GetString() == "********");

            // The enrolled agent connects with its key (and only with it); a deploy and a rollback carry the secret to it.
            await using (var impostor = new SeedAgent((_, _, _) => null))
            {
                await Assert.ThrowsAnyAsync<Exception>(() => impostor.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, fixture.AgentId));
                Assert.Equal(401, impostor.RefusedWith);
            }
            await using var agent = new SeedAgent((_, type, _) => ("COMPLETED", $"{type} done\n", ""));
            await agent.ConnectAsync(controlPlane.WebSocketUrl, fixture.AgentKey, fixture.AgentId, features: "project-config");
            await ci.WaitForAgentOnlineAsync(fixture.AgentId);
            foreach (var (path, body) in new (string, object)[]
            {
                ("/deploy", new { project_name = fixture.Project, compose_file_base64 = Compose("3") }),
                ($"/deployments/{fixture.Project}/rollback", new { revision = 1 }),
            })
            {
                var job = await ci.WaitForJobAsync((await Send(ci, path, body)).GetProperty("job_id").GetString()!);
                Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
                JsonElement command;
                lock (agent.ReceivedCommands) command = agent.ReceivedCommands.Last(c => c.GetProperty("id").GetString() == job.GetProperty("job_id").GetString());
                var env = command.GetProperty("payload").GetProperty("env").EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!, v => v.GetProperty("value").GetString());
                Assert.Equal(fixture.SecretValue, env[fixture.SecretName]);
                Assert.Equal("debug", env["LOG_LEVEL"]); // the agent's own value over the project's
            }
            Assert.Equal([(4, "succeeded"), (3, "succeeded")], (await ci.GetJsonAsync($"/deployments/{fixture.Project}/revisions")).EnumerateArray()
                .Take(2).Select(r => (r.GetProperty("revision").GetInt32(), r.GetProperty("outcome").GetString())));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
    }
}
