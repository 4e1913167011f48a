using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using InstaDeploy.ControlPlane.Audit;
using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.ControlPlane.Tests.Audit;

/// <summary>
/// The audit log after a scripted session of every state-changing action, against a real control plane (Kestrel,
/// SQLite file) and a seed-protocol agent: each action is there with its actor (key id and name), source address,
/// target and outcome, refusals too; filters, paging and both exports work; no secret value is anywhere in it; the
/// retention setting deletes old entries.
/// </summary>
public sealed class AuditLogTests : IAsyncLifetime
{
    private const string AgentId = "audit-1";
    private readonly ControlPlaneFactory _controlPlane = new(new Dictionary<string, string?> { ["INSTADEPLOY_AUDIT_RETENTION_DAYS"] = "30" });
    private HttpClient _api = null!;
    private SeedAgent _agent = null!;

    public async Task InitializeAsync()
    {
        _api = _controlPlane.CreateApiClient();
        _agent = new SeedAgent((_, _, _) => ("COMPLETED", "done", ""));
        await _agent.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, AgentId, features: "project-config");
        await _api.WaitForAgentOnlineAsync(AgentId);
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _api.Dispose();
        await _controlPlane.DisposeAsync();
    }

    private static string Compose(string version) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"services:\n  web:\n    image: local/busybox:1\n    labels:\n      version: \"{version}\"\n"));

    private static async Task<JsonElement> ExpectAsync(Task<HttpResponseMessage> call, HttpStatusCode status)
    {
        using var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<string> WaitAsync(JsonElement accepted)
    {
        var id = accepted.GetProperty("job_id").GetString()!;
        Assert.Equal("COMPLETED", (await _api.WaitForJobAsync(id)).GetProperty("status").GetString());
        return id;
    }

    [Fact]
    public async Task EveryActionOfASessionIsRecordedWithItsActorAndNoSecretAndCanBeFilteredPagedAndExported()
    {
        var variableSecret = "var-" + Guid.NewGuid().ToString("N");
        var registryPassword = "reg-" + Guid.NewGuid().ToString("N");
        var json = InstaDeploy.Testing.Api.Json;

        // A deploy key of its own, so the log can be checked for its id and name.
        var key = await ExpectAsync(_api.PostJsonAsync("/api-keys", new { name = "ci-pipeline", scopes = new[] { "deploy" } }), HttpStatusCode.Created);
        var keyId = key.GetProperty("id").GetString()!;
        var keySecret = key.GetProperty("key").GetString()!;
        using var ci = _controlPlane.CreateApiClient(keySecret);

        var deployJobs = new[]
        {
            await WaitAsync(await ExpectAsync(ci.PostJsonAsync("/deploy", new { project_name = "shop", compose_file_base64 = Compose("1"), agent_id = AgentId }), HttpStatusCode.Accepted)),
            await WaitAsync(await ExpectAsync(ci.PostJsonAsync("/deploy", new { project_name = "shop", compose_file_base64 = Compose("2"), agent_id = AgentId }), HttpStatusCode.Accepted)),
        };
        await WaitAsync(await ExpectAsync(ci.PostJsonAsync("/deployments/shop/rollback", new { revision = 1, agent_id = AgentId }), HttpStatusCode.Accepted));
        await ExpectAsync(ci.PostJsonAsync("/deploy", new { project_name = "shop", compose_file_base64 = "not base64!", agent_id = AgentId }), HttpStatusCode.BadRequest);
        await ExpectAsync(ci.PutAsJsonAsync("/deployments/shop/env/DB_PASSWORD", new { value = variableSecret, secret = true }, json), HttpStatusCode.OK);
        await ExpectAsync(ci.PutAsJsonAsync("/deployments/shop/env/LOG_LEVEL", new { value = "debug" }, json), HttpStatusCode.OK);
        await ExpectAsync(ci.DeleteAsync("/deployments/shop/env/LOG_LEVEL"), HttpStatusCode.NoContent);
        var rollout = await ExpectAsync(ci.PostJsonAsync("/rollouts", new { project_name = "shop", compose_file_base64 = Compose("3"), targets = new { agent_ids = new[] { AgentId } } }), HttpStatusCode.Created);
        var rolloutId = rollout.GetProperty("rollout_id").GetString()!;
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync($"/rollouts/{rolloutId}")).GetProperty("state").GetString() == "succeeded", TimeSpan.FromSeconds(30), "the rollout to succeed");
        await WaitAsync(await ExpectAsync(ci.PostJsonAsync("/stop", new { project_name = "shop", agent_id = AgentId }), HttpStatusCode.Accepted));
        var webhook = await ExpectAsync(ci.PostJsonAsync("/webhooks", new { name = "github shop", project_name = "shop" }), HttpStatusCode.Created);
        var webhookId = webhook.GetProperty("webhook").GetProperty("id").GetString()!;
        var webhookSecrets = new List<string> { webhook.GetProperty("secret").GetString()! };
        webhookSecrets.Add((await ExpectAsync(ci.PostAsync($"/webhooks/{webhookId}/rotate-secret", null), HttpStatusCode.OK)).GetProperty("secret").GetString()!);
        await ExpectAsync(ci.DeleteAsync($"/webhooks/{webhookId}"), HttpStatusCode.NoContent);
        // The deploy key may not manage registries: refused, and recorded as refused.
        await ExpectAsync(ci.PutAsJsonAsync("/registries/ghcr.io", new { username = "bot", password = registryPassword }, json), HttpStatusCode.Forbidden);

        await ExpectAsync(_api.PutAsJsonAsync("/registries/ghcr.io", new { username = "bot", password = registryPassword }, json), HttpStatusCode.OK);
        await ExpectAsync(_api.PutAsJsonAsync("/registries/ghcr.io", new { username = "bot", password = "" }, json), HttpStatusCode.BadRequest);
        await ExpectAsync(_api.DeleteAsync("/registries/ghcr.io"), HttpStatusCode.NoContent);
        var token = await ExpectAsync(_api.PostJsonAsync("/enrollment-tokens", new { name = "web-07", uses = 1 }), HttpStatusCode.Created);
        await ExpectAsync(_api.DeleteAsync($"/enrollment-tokens/{token.GetProperty("id").GetString()}"), HttpStatusCode.NoContent);
        await ExpectAsync(_api.PutAsJsonAsync($"/agents/{AgentId}/labels", new { labels = new Dictionary<string, string?> { ["role"] = "web" } }, json), HttpStatusCode.OK);
        await ExpectAsync(_api.DeleteAsync($"/agents/{AgentId}/labels"), HttpStatusCode.OK);
        await ExpectAsync(_api.DeleteAsync($"/api-keys/{keyId}"), HttpStatusCode.NoContent);
        await ExpectAsync(_api.PostAsync($"/agents/{AgentId}/revoke", null), HttpStatusCode.NoContent);
        await ExpectAsync(_api.PostAsync($"/agents/{AgentId}/restore", null), HttpStatusCode.NoContent);

        var everything = (await _api.GetJsonAsync("/audit?limit=1000")).GetProperty("entries").EnumerateArray().ToArray();
        // The control plane's own start: the bootstrap admin key, by the system, from no address.
        var bootstrap = Assert.Single(everything, e => e.GetProperty("actor_kind").GetString() == "system");
        Assert.Equal(AuditActions.ApiKeyCreate, bootstrap.GetProperty("action").GetString());
        Assert.Equal(JsonValueKind.Null, bootstrap.GetProperty("source_address").ValueKind);
        var entries = everything.Where(e => e.GetProperty("actor_kind").GetString() != "system").ToArray();
        JsonElement One(string action, string outcome = AuditOutcomes.Succeeded) =>
            Assert.Single(entries, e => e.GetProperty("action").GetString() == action && e.GetProperty("outcome").GetString() == outcome);

        // The key's calls carry its id and name; every entry its source address.
        Assert.All(entries, e => Assert.Equal("127.0.0.1", e.GetProperty("source_address").GetString()));
        var deploys = entries.Where(e => e.GetProperty("action").GetString() == AuditActions.Deploy && e.GetProperty("outcome").GetString() == AuditOutcomes.Succeeded).ToArray();
        Assert.Equal(2, deploys.Length);
        Assert.All(deploys, e =>
        {
            Assert.Equal("api_key", e.GetProperty("actor_kind").GetString());
            Assert.Equal(keyId, e.GetProperty("actor_id").GetString());
            Assert.Equal("ci-pipeline", e.GetProperty("actor_name").GetString());
            Assert.Equal($"project:shop@{AgentId}", e.GetProperty("target").GetString());
            Assert.Equal(202, e.GetProperty("status").GetInt32());
        });
        Assert.Equal(deployJobs.Reverse(), deploys.Select(e => e.GetProperty("job_id").GetString()!));
        var badDeploy = One(AuditActions.Deploy, AuditOutcomes.Refused);
        Assert.Equal(400, badDeploy.GetProperty("status").GetInt32());
        Assert.Contains("compose_file_base64: is not valid base64", badDeploy.GetProperty("detail").GetString());
        One(AuditActions.Rollback);
        One(AuditActions.Stop);
        var variables = entries.Where(e => e.GetProperty("action").GetString() == AuditActions.VariableSet).Select(e => e.GetProperty("target").GetString()!).ToArray();
        Assert.Equal(new[] { "project:shop variable:LOG_LEVEL", "project:shop variable:DB_PASSWORD" }, variables);
        One(AuditActions.VariableDelete);
        One(AuditActions.RolloutCreate);
        One(AuditActions.WebhookCreate);
        One(AuditActions.WebhookRotate);
        One(AuditActions.WebhookDelete);
        var registryRefusals = entries.Where(e => e.GetProperty("action").GetString() == AuditActions.RegistrySet && e.GetProperty("outcome").GetString() == AuditOutcomes.Refused).ToArray();
        Assert.Equal(2, registryRefusals.Length);
        var forbidden = Assert.Single(registryRefusals, e => e.GetProperty("status").GetInt32() == 403);
        Assert.Equal(keyId, forbidden.GetProperty("actor_id").GetString());
        Assert.Equal("registry:ghcr.io", forbidden.GetProperty("target").GetString());
        Assert.Contains("password", Assert.Single(registryRefusals, e => e.GetProperty("status").GetInt32() == 400).GetProperty("detail").GetString());
        var registrySet = One(AuditActions.RegistrySet);
        Assert.Equal("registry:ghcr.io", registrySet.GetProperty("target").GetString());
        Assert.Contains("bot", registrySet.GetProperty("summary").GetRawText());
        One(AuditActions.RegistryDelete);
        One(AuditActions.EnrollmentTokenCreate);
        One(AuditActions.EnrollmentTokenRevoke);
        One(AuditActions.AgentLabelsSet);
        One(AuditActions.AgentLabelsClear);
        One(AuditActions.ApiKeyCreate);
        One(AuditActions.ApiKeyRevoke);
        Assert.Equal($"agent:{AgentId}", One(AuditActions.AgentRevoke).GetProperty("target").GetString());
        One(AuditActions.AgentRestore);

        // No secret value anywhere: not in the page, not in either export.
        var csv = await _api.GetStringAsync("/audit/export?format=csv");
        var exported = await _api.GetStringAsync("/audit/export?format=json");
        var page = await _api.GetStringAsync("/audit?limit=1000");
        foreach (var secret in new[] { variableSecret, registryPassword, keySecret, token.GetProperty("token").GetString()!, ControlPlaneFactory.AdminApiKey }.Concat(webhookSecrets))
        {
            Assert.DoesNotContain(secret, csv);
            Assert.DoesNotContain(secret, exported);
            Assert.DoesNotContain(secret, page);
        }

        // The exports hold every entry, oldest first; the CSV has its header and one row per entry.
        var all = JsonDocument.Parse(exported).RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).ToArray();
        Assert.Equal(everything.Select(e => e.GetProperty("id").GetInt64()).Reverse(), all);
        var rows = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("id,at,actor_kind,actor_id,actor_name,source_address,action,target,outcome,status", rows[0]);
        Assert.True(rows.Length >= everything.Length + 1);

        // Filters: an action prefix, the actor, a target prefix, the outcome.
        var rollouts = (await _api.GetJsonAsync("/audit?action=rollout.")).GetProperty("entries").EnumerateArray().ToArray();
        Assert.NotEmpty(rollouts);
        Assert.All(rollouts, e => Assert.StartsWith("rollout.", e.GetProperty("action").GetString()));
        var byKey = (await _api.GetJsonAsync("/audit?actor=ci-pipeline")).GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(entries.Count(e => e.GetProperty("actor_id").GetString() == keyId), byKey.Length);
        var refused = (await _api.GetJsonAsync("/audit?outcome=refused")).GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(3, refused.Length);
        var registry = (await _api.GetJsonAsync("/audit?target=registry:&outcome=succeeded")).GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(new[] { AuditActions.RegistryDelete, AuditActions.RegistrySet }, registry.Select(e => e.GetProperty("action").GetString()!));
        Assert.Empty((await _api.GetJsonAsync($"/audit?since={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(5).ToString("O"))}")).GetProperty("entries").EnumerateArray());

        // Paging: pages of 5, newest first, each older than the last, together everything.
        var paged = new List<long>();
        string next = "/audit?limit=5";
        while (true)
        {
            var result = await _api.GetJsonAsync(next);
            var ids = result.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).ToArray();
            Assert.InRange(ids.Length, 1, 5);
            paged.AddRange(ids);
            if (result.GetProperty("next_before").ValueKind == JsonValueKind.Null) break;
            next = $"/audit?limit=5&before={result.GetProperty("next_before").GetInt64()}";
        }
        Assert.Equal(everything.Select(e => e.GetProperty("id").GetInt64()), paged);

        // Bad parameters are refused with what to fix.
        using (var bad = await _api.GetAsync("/audit?limit=0"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("limit", await bad.Content.ReadAsStringAsync());
        }
        using (var bad = await _api.GetAsync("/audit/export?format=xml"))
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task TheAuditLogIsForAdminsAndACellThatLooksLikeAFormulaIsExportedAsText()
    {
        var reader = await ExpectAsync(_api.PostJsonAsync("/api-keys", new { name = "=HYPERLINK(\"http://x\")", scopes = new[] { "deploy" } }), HttpStatusCode.Created);
        using var client = _controlPlane.CreateApiClient(reader.GetProperty("key").GetString()!);
        await ExpectAsync(client.GetAsync("/audit"), HttpStatusCode.Forbidden);
        await ExpectAsync(client.GetAsync("/audit/export"), HttpStatusCode.Forbidden);
        await ExpectAsync(client.PutAsJsonAsync("/deployments/shop/env/MODE", new { value = "x" }, InstaDeploy.Testing.Api.Json), HttpStatusCode.OK);

        var csv = await _api.GetStringAsync("/audit/export?format=csv&action=variable.set");
        var row = Assert.Single(csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Skip(1));
        Assert.Contains("\"'=HYPERLINK(\"\"http://x\"\")\"", row);
    }

    [Fact]
    public async Task EntriesOlderThanTheRetentionAreDeleted()
    {
        await ExpectAsync(_api.PutAsJsonAsync("/deployments/shop/env/FRESH", new { value = "x" }, InstaDeploy.Testing.Api.Json), HttpStatusCode.OK);
        var log = _controlPlane.Services.GetRequiredService<AuditLog>();
        var databases = _controlPlane.Services.GetRequiredService<IDbContextFactory<InstaDeployDbContext>>();
        await using (var db = await databases.CreateDbContextAsync())
        {
            foreach (var days in new[] { 31, 45 })
            {
                var old = log.Entry(AuditActor.System, AuditActions.Deploy, "project:old", AuditOutcomes.Succeeded, 202, $"{days} days ago");
                old.At = DateTimeOffset.UtcNow.AddDays(-days);
                db.AuditLog.Add(old);
            }
            var recent = log.Entry(AuditActor.System, AuditActions.Deploy, "project:recent", AuditOutcomes.Succeeded, 202, "29 days ago");
            recent.At = DateTimeOffset.UtcNow.AddDays(-29);
            db.AuditLog.Add(recent);
            await db.SaveChangesAsync();
        }

        Assert.Equal(2, await _controlPlane.Services.GetRequiredService<AuditRetentionService>().PruneAsync(CancellationToken.None));

        var targets = (await _api.GetJsonAsync("/audit")).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("target").GetString()).ToArray();
        Assert.DoesNotContain("project:old", targets);
        Assert.Contains("project:recent", targets);
        Assert.Contains("project:shop variable:FRESH", targets);
    }
}
