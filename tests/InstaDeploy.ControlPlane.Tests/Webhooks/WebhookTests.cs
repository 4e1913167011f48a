using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using InstaDeploy.ControlPlane.Webhooks;

namespace InstaDeploy.ControlPlane.Tests.Webhooks;

/// <summary>
/// Push-to-deploy against a real control plane (Kestrel, SQLite file) and a seed-protocol agent: a call signed right
/// redeploys the project; signed wrong, unsigned, replayed (same delivery id, or the same body again) or to an unknown
/// webhook answers a bare 401 and deploys nothing; every call of a known webhook is in the audit log with the caller.
/// </summary>
public sealed class WebhookTests : IAsyncLifetime
{
    private const string AgentId = "hook-1";
    private readonly ControlPlaneFactory _controlPlane = new();
    private HttpClient _api = null!;
    private HttpClient _anonymous = null!;
    private SeedAgent _agent = null!;

    public async Task InitializeAsync()
    {
        _api = _controlPlane.CreateApiClient();
        _anonymous = _controlPlane.CreateApiClient(apiKey: null);
        _agent = new SeedAgent((_, _, _) => ("COMPLETED", "done", ""));
        await _agent.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, AgentId, features: "project-config");
        await _api.WaitForAgentOnlineAsync(AgentId);
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _api.Dispose();
        _anonymous.Dispose();
        await _controlPlane.DisposeAsync();
    }

    private int DeploysReceived()
    {
        lock (_agent.ReceivedCommands) return _agent.ReceivedCommands.Count(c => c.GetProperty("type").GetString() == "DEPLOY_COMPOSE");
    }

    private async Task<(string Id, string Secret)> CreateWebhookAsync(string project, object? extra = null)
    {
        var body = new Dictionary<string, object?> { ["name"] = $"github {project}", ["project_name"] = project };
        if (extra is not null)
            foreach (var p in JsonSerializer.SerializeToElement(extra).EnumerateObject()) body[p.Name] = p.Value;
        using var created = await _api.PostJsonAsync("/webhooks", body);
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var json = await created.ReadJsonAsync();
        var webhook = json.GetProperty("webhook");
        Assert.EndsWith($"/hooks/{webhook.GetProperty("id").GetString()}", webhook.GetProperty("url").GetString());
        return (webhook.GetProperty("id").GetString()!, json.GetProperty("secret").GetString()!);
    }

    private async Task DeployOnceAsync(string project)
    {
        var compose = Convert.ToBase64String(Encoding.UTF8.GetBytes("services:\n  web:\n    image: local/busybox:1\n"));
        using var response = await _api.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = compose, agent_id = AgentId });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await _api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
    }

    private async Task<HttpResponseMessage> CallAsync(string webhookId, string body, string? signature, string? deliveryId, string @event = "push")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/hooks/{webhookId}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (signature is not null) request.Headers.TryAddWithoutValidation(WebhookSignature.Header, signature);
        if (deliveryId is not null) request.Headers.Add("X-GitHub-Delivery", deliveryId);
        request.Headers.Add("X-GitHub-Event", @event);
        return await _anonymous.SendAsync(request);
    }

    private static string Sign(string secret, string body) =>
        "sha256=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    private static string Push(string branch = "main", string commit = "c0ffee") =>
        $$$"""{"ref":"refs/heads/{{{branch}}}","after":"{{{commit}}}","repository":{"full_name":"acme/shop"}}""";

    private static async Task AssertBareUnauthorizedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        // Nothing that tells a prober which check failed, or that the webhook exists.
        Assert.DoesNotContain("signature", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("replay", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("detail", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ASignedPushRedeploysAndWrongUnsignedReplayedOrUnknownCallsAreRefusedWithABare401()
    {
        const string project = "shop";
        await DeployOnceAsync(project);
        var (id, secret) = await CreateWebhookAsync(project, new { branch = "main" });
        Assert.DoesNotContain(secret, await _api.GetStringAsync("/webhooks"));
        var before = DeploysReceived();

        // Signed right: a redeploy of the project's current compose file, with a pull.
        var body = Push();
        using (var accepted = await CallAsync(id, body, Sign(secret, body), "delivery-1"))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var jobIds = (await accepted.ReadJsonAsync()).GetProperty("job_ids").EnumerateArray().Select(j => j.GetString()!).ToArray();
            var job = await _api.WaitForJobAsync(Assert.Single(jobIds));
            Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
        }
        Assert.Equal(before + 1, DeploysReceived());
        JsonElement deploy;
        lock (_agent.ReceivedCommands) deploy = _agent.ReceivedCommands.Last(c => c.GetProperty("type").GetString() == "DEPLOY_COMPOSE");
        Assert.Equal(project, deploy.GetProperty("payload").GetProperty("project_name").GetString());
        Assert.True(deploy.GetProperty("payload").GetProperty("pull").GetBoolean());

        // Signed with another secret, signed over another body, unsigned, malformed: 401, no deploy.
        var other = Push(commit: "bad");
        await AssertBareUnauthorizedAsync(await CallAsync(id, other, Sign("not-the-secret", other), "delivery-2"));
        await AssertBareUnauthorizedAsync(await CallAsync(id, other, Sign(secret, body), "delivery-3"));
        await AssertBareUnauthorizedAsync(await CallAsync(id, other, null, "delivery-4"));
        await AssertBareUnauthorizedAsync(await CallAsync(id, other, "sha256=zz", "delivery-5"));
        // Replayed: the same delivery again, and the same signed body under a new delivery id.
        await AssertBareUnauthorizedAsync(await CallAsync(id, body, Sign(secret, body), "delivery-1"));
        await AssertBareUnauthorizedAsync(await CallAsync(id, body, Sign(secret, body), "delivery-6"));
        // Signed right but without a delivery id, so a replay could not be told apart.
        var fresh = Push(commit: "fresh");
        await AssertBareUnauthorizedAsync(await CallAsync(id, fresh, Sign(secret, fresh), null));
        // An unknown webhook answers exactly as a wrong signature does.
        await AssertBareUnauthorizedAsync(await CallAsync("wh_unknown", fresh, Sign(secret, fresh), "delivery-7"));
        Assert.Equal(before + 1, DeploysReceived());

        // A push to another branch and a ping are answered, and deploy nothing.
        var feature = Push(branch: "feature");
        using (var ignored = await CallAsync(id, feature, Sign(secret, feature), "delivery-8"))
        {
            Assert.Equal(HttpStatusCode.OK, ignored.StatusCode);
            Assert.Contains("refs/heads/main", (await ignored.ReadJsonAsync()).GetProperty("ignored").GetString());
        }
        const string ping = """{"zen":"Keep it logically awesome.","hook_id":1}""";
        using (var pong = await CallAsync(id, ping, Sign(secret, ping), "delivery-9", "ping"))
            Assert.Equal(HttpStatusCode.OK, pong.StatusCode);
        Assert.Equal(before + 1, DeploysReceived());

        // A rotated secret: the old one stops working at once, the new one works.
        using var rotated = await _api.PostAsync($"/webhooks/{id}/rotate-secret", null);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var newSecret = (await rotated.ReadJsonAsync()).GetProperty("secret").GetString()!;
        var next = Push(commit: "next");
        await AssertBareUnauthorizedAsync(await CallAsync(id, next, Sign(secret, next), "delivery-10"));
        using (var again = await CallAsync(id, next, Sign(newSecret, next), "delivery-11"))
            Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        await Eventually.TrueAsync(() => Task.FromResult(DeploysReceived() == before + 2), TimeSpan.FromSeconds(20), "the second redeploy");

        // The audit log: each call of the known webhook, with the webhook as the actor and the caller's address; the
        // unknown one is not (anyone can invent an id); no secret in it.
        var audit = await _api.GetJsonAsync("/audit?action=webhook.deliver&limit=100");
        var entries = audit.GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(12, entries.Length);
        Assert.All(entries, e =>
        {
            Assert.Equal("webhook", e.GetProperty("actor_kind").GetString());
            Assert.Equal(id, e.GetProperty("actor_id").GetString());
            Assert.Equal("127.0.0.1", e.GetProperty("source_address").GetString());
            Assert.StartsWith($"project:{project}", e.GetProperty("target").GetString());
        });
        Assert.Equal(2, entries.Count(e => e.GetProperty("status").GetInt32() == 202));
        Assert.Equal(8, entries.Count(e => e.GetProperty("outcome").GetString() == "refused" && e.GetProperty("status").GetInt32() == 401));
        Assert.Contains(entries, e => e.GetProperty("detail").GetString()!.Contains("replayed", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.GetProperty("detail").GetString()!.Contains("no X-Hub-Signature-256", StringComparison.Ordinal));
        var export = await _api.GetStringAsync("/audit/export?format=csv");
        Assert.DoesNotContain(secret, export);
        Assert.DoesNotContain(newSecret, export);

        // Deleted: its URL answers 401 from then on.
        Assert.Equal(HttpStatusCode.NoContent, (await _api.DeleteAsync($"/webhooks/{id}")).StatusCode);
        var last = Push(commit: "last");
        await AssertBareUnauthorizedAsync(await CallAsync(id, last, Sign(newSecret, last), "delivery-12"));
    }

    [Fact]
    public async Task ARolloutWebhookStartsARolloutToItsSelector()
    {
        const string project = "fleet-shop";
        using (var labels = await _api.PutAsJsonAsync($"/agents/{AgentId}/labels", new { labels = new Dictionary<string, string?> { ["role"] = "hooked" } }, InstaDeploy.Testing.Api.Json))
            Assert.Equal(HttpStatusCode.OK, labels.StatusCode);
        await DeployOnceAsync(project);
        var (id, secret) = await CreateWebhookAsync(project, new { mode = "rollout", selector = "role=hooked", strategy = new { max_parallel = 1 } });
        var before = DeploysReceived();

        var body = Push();
        using var accepted = await CallAsync(id, body, Sign(secret, body), "rollout-1");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var rolloutId = (await accepted.ReadJsonAsync()).GetProperty("rollout_id").GetString()!;
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync($"/rollouts/{rolloutId}")).GetProperty("state").GetString() == "succeeded",
            TimeSpan.FromSeconds(30), "the webhook's rollout to succeed");
        Assert.Equal(before + 1, DeploysReceived());
        var created = Assert.Single((await _api.GetJsonAsync("/audit?action=rollout.create")).GetProperty("entries").EnumerateArray());
        Assert.Equal("webhook", created.GetProperty("actor_kind").GetString());
        Assert.Equal(id, created.GetProperty("actor_id").GetString());
    }

    [Fact]
    public async Task AWebhookOfAProjectNeverDeployedSaysSoAndBadSettingsAreRefused()
    {
        var (id, secret) = await CreateWebhookAsync("never-deployed");
        var body = Push();
        using (var response = await CallAsync(id, body, Sign(secret, body), "first"))
        {
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Contains("deploy it once", (await response.ReadJsonAsync()).GetProperty("detail").GetString());
        }

        foreach (var (bad, field) in new (object Body, string Field)[]
        {
            (new { name = "x", project_name = "p", mode = "explode" }, "mode"),
            (new { name = "x", project_name = "p", mode = "rollout" }, "selector"),
            (new { name = "x", project_name = "p", branch = "no spaces" }, "branch"),
            (new { name = "", project_name = "p" }, "name"),
        })
        {
            using var response = await _api.PostJsonAsync("/webhooks", bad);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(field, await response.Content.ReadAsStringAsync());
        }
        Assert.Single((await _api.GetJsonAsync("/webhooks")).EnumerateArray());
    }
}
