using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Tests.Deployments;

/// <summary>
/// Per-project variables, revisions, rollback and the container-logs endpoint, against a real control plane (Kestrel,
/// SQLite file, Data Protection key ring on disk) and a seed-protocol agent that answers each command as told.
/// </summary>
public sealed class VariablesAndRevisionsTests : IAsyncLifetime
{
    private const string AgentId = "vps-1";
    // On SQLite even when the suite runs on PostgreSQL: one test scans the database file for a secret in clear.
    private readonly ControlPlaneFactory _controlPlane = new(new Dictionary<string, string?> { [ControlPlaneFactory.SqliteSetting] = "" });
    private HttpClient _api = null!;
    private SeedAgent _agent = null!;

    private volatile bool _agentIgnoresLogs;

    /// <summary>What the agent answers next, by command type; COMPLETED when not set.</summary>
    private readonly Dictionary<string, (string Status, string Logs, string Error)> _answers = [];

    public async Task InitializeAsync()
    {
        _api = _controlPlane.CreateApiClient();
        _agent = new SeedAgent((_, type, _) =>
        {
            if (type == "LOGS" && _agentIgnoresLogs) return null;
            lock (_answers) return _answers.TryGetValue(type, out var answer) ? answer : ("COMPLETED", "done", "");
        });
        // Claims to apply project variables and rollback_on_failure, as our agent does; it answers as told.
        await _agent.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, AgentId, features: "project-config");
        await _api.WaitForAgentOnlineAsync(AgentId);
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _api.Dispose();
        await _controlPlane.DisposeAsync();
    }

    private static string Compose(string version) => $"services:\n  web:\n    image: local/busybox:1\n    labels:\n      version: \"{version}\"\n";

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private async Task<JsonElement> DeployAsync(string project, string version, object? extra = null)
    {
        var body = new Dictionary<string, object?> { ["project_name"] = project, ["compose_file_base64"] = Base64(Compose(version)) };
        if (extra is not null)
            foreach (var p in JsonSerializer.SerializeToElement(extra).EnumerateObject()) body[p.Name] = p.Value;
        using var response = await _api.PostJsonAsync("/deploy", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await _api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
    }

    private JsonElement LastCommand(string type)
    {
        lock (_agent.ReceivedCommands) return _agent.ReceivedCommands.Last(c => c.GetProperty("type").GetString() == type);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detail)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(detail, (await response.ReadJsonAsync()).GetProperty("detail").GetString());
    }

    private Task<HttpResponseMessage> PutVariableAsync(string project, string name, object body) =>
        _api.PutAsJsonAsync($"/deployments/{project}/env/{name}", body, InstaDeploy.Testing.Api.Json);

    [Fact]
    public async Task ASecretIsMaskedInEveryAnswerEncryptedInTheDatabaseAndSentInClearOnlyToTheAgent()
    {
        var secret = "pw-" + Guid.NewGuid().ToString("N");
        using (var put = await PutVariableAsync("shop", "DB_PASSWORD", new { value = secret, secret = true }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var body = await put.Content.ReadAsStringAsync();
            Assert.DoesNotContain(secret, body);
            Assert.Equal("********", JsonDocument.Parse(body).RootElement.GetProperty("value").GetString());
        }
        (await PutVariableAsync("shop", "LOG_LEVEL", new { value = "info" })).EnsureSuccessStatusCode();
        (await PutVariableAsync("shop", "LOG_LEVEL", new { value = "debug", agent_id = AgentId })).EnsureSuccessStatusCode();

        var listed = await _api.GetStringAsync("/deployments/shop/env");
        Assert.DoesNotContain(secret, listed);
        var variables = JsonDocument.Parse(listed).RootElement.GetProperty("variables").EnumerateArray()
            .Select(v => (v.GetProperty("name").GetString(), v.GetProperty("value").GetString(), v.GetProperty("secret").GetBoolean(), v.GetProperty("agent_id").GetString()))
            .ToList();
        Assert.Equal([("DB_PASSWORD", "********", true, null), ("LOG_LEVEL", "info", false, null), ("LOG_LEVEL", "debug", false, AgentId)], variables);

        var job = await DeployAsync("shop", "1");
        Assert.Equal("COMPLETED", job.GetProperty("status").GetString());

        // The agent gets the values in clear, the agent's override winning over the project-wide value.
        var env = LastCommand("DEPLOY_COMPOSE").GetProperty("payload").GetProperty("env").EnumerateArray()
            .Select(v => (v.GetProperty("name").GetString(), v.GetProperty("value").GetString(), v.GetProperty("secret").GetBoolean())).ToList();
        Assert.Equal([("DB_PASSWORD", secret, true), ("LOG_LEVEL", "debug", false)], env);

        // Nowhere else: not in any answer, the control plane's log, or the database files (WAL included).
        foreach (var path in new[] { "/jobs", $"/jobs/{job.GetProperty("job_id").GetString()}", "/deployments/shop/revisions", "/deployments/shop/revisions/1", "/deployments/shop", "/deployments/shop/env" })
            Assert.DoesNotContain(secret, await _api.GetStringAsync(path));
        Assert.DoesNotContain(_controlPlane.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
        await SecretScan.AssertNotInFilesAsync(_controlPlane.DataDirectory, "instadeploy.db*", secret);
        // The key ring that can decrypt it lives in its own folder, readable by the owner only.
        var keys = Path.Combine(_controlPlane.DataDirectory, "keys");
        Assert.NotEmpty(Directory.GetFiles(keys, "key-*.xml"));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(keys));

        var revision = await _api.GetJsonAsync("/deployments/shop/revisions/1");
        Assert.Equal(["DB_PASSWORD", "LOG_LEVEL"], revision.GetProperty("variables").EnumerateArray().Select(v => v.GetString()));
    }

    [Theory]
    [InlineData("1ABC", "{\"value\":\"x\"}", "not a valid variable name")]
    [InlineData("A-B", "{\"value\":\"x\"}", "not a valid variable name")]
    [InlineData("OK", "{\"secret\":true}", "value: is required")]
    [InlineData("OK", "{\"value\":\"two\\nlines\"}", "line break")]
    [InlineData("OK", "{\"value\":\"x\",\"agent_id\":\"nobody\"}", "No agent 'nobody'")]
    [InlineData("OK", "{\"value\":\"a${HOME}b\"}", "compose v1 expands as a variable")]
    [InlineData("OK", "{\"value\":\"ends-with\\\\\"}", "backslash before")]
    [InlineData("OK", "{\"value\":\"it's $5\"}", "single quote together with '$'")]
    public async Task ABadVariableIsRefusedWithTheReasonAndNothingIsStored(string name, string body, string expected)
    {
        using var response = await _api.PutAsync($"/deployments/shop/env/{name}", new StringContent(body, Encoding.UTF8, "application/json"));
        await AssertProblemAsync(response, response.StatusCode == HttpStatusCode.NotFound ? HttpStatusCode.NotFound : HttpStatusCode.BadRequest, expected);
        Assert.Equal(0, (await _api.GetJsonAsync("/deployments/shop/env")).GetProperty("variables").GetArrayLength());
    }

    [Fact]
    public async Task AVariableCanBeDeletedOnceAndTheNextDeployCarriesAnEmptyList()
    {
        (await PutVariableAsync("cleanup", "TOKEN_A", new { value = "abc", secret = true })).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.NoContent, (await _api.DeleteAsync("/deployments/cleanup/env/TOKEN_A")).StatusCode);
        await AssertProblemAsync(await _api.DeleteAsync("/deployments/cleanup/env/TOKEN_A"), HttpStatusCode.NotFound, "no project-wide variable 'TOKEN_A'");

        await DeployAsync("cleanup", "1");
        Assert.Equal(0, LastCommand("DEPLOY_COMPOSE").GetProperty("payload").GetProperty("env").GetArrayLength());
    }

    [Fact]
    public async Task EachDeployIsARevisionAndRollbackRedeploysAnEarlierOneWithItsOwnVariables()
    {
        (await PutVariableAsync("web", "GREETING", new { value = "hello-v1" })).EnsureSuccessStatusCode();
        await DeployAsync("web", "1", new { rollback_on_failure = true, health_wait_seconds = 5 });
        (await PutVariableAsync("web", "GREETING", new { value = "hello-v2" })).EnsureSuccessStatusCode();
        await DeployAsync("web", "2");
        lock (_answers) _answers["DEPLOY_COMPOSE"] = ("FAILED", "", "compose up exited with code 1");
        await DeployAsync("web", "3");
        lock (_answers) _answers.Remove("DEPLOY_COMPOSE");

        var first = LastCommandWithRevision(1).GetProperty("payload");
        Assert.True(first.GetProperty("rollback_on_failure").GetBoolean());
        Assert.Equal(5, first.GetProperty("health_wait_seconds").GetInt32());
        Assert.Equal(60, LastCommandWithRevision(2).GetProperty("payload").GetProperty("health_wait_seconds").GetInt32());

        var revisions = (await _api.GetJsonAsync("/deployments/web/revisions")).EnumerateArray().ToList();
        Assert.Equal([3, 2, 1], revisions.Select(r => r.GetProperty("revision").GetInt32()));
        Assert.Equal(["failed", "succeeded", "succeeded"], revisions.Select(r => r.GetProperty("outcome").GetString()));
        Assert.Equal([false, true, false], revisions.Select(r => r.GetProperty("current").GetBoolean()));
        Assert.All(revisions, r => Assert.Equal("bootstrap-admin", r.GetProperty("created_by").GetString()));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Compose("1")))),
            revisions[2].GetProperty("compose_sha256").GetString());

        // No revision named, after a failed deploy: back to the last success before it (2), not past it.
        var rollback = await RollbackAsync("web", new { });
        Assert.Equal("COMPLETED", rollback.GetProperty("status").GetString());
        var sent = LastCommand("DEPLOY_COMPOSE").GetProperty("payload");
        Assert.Equal(Base64(Compose("2")), sent.GetProperty("compose_file_base64").GetString());
        Assert.Equal(4, sent.GetProperty("revision").GetInt32());

        // Named: revision 1, with the variable value it was deployed with, not today's.
        rollback = await RollbackAsync("web", new { revision = 1 });
        sent = LastCommand("DEPLOY_COMPOSE").GetProperty("payload");
        Assert.Equal(Base64(Compose("1")), sent.GetProperty("compose_file_base64").GetString());
        Assert.Equal("hello-v1", sent.GetProperty("env")[0].GetProperty("value").GetString());

        var latest = (await _api.GetJsonAsync("/deployments/web/revisions?limit=2")).EnumerateArray().ToList();
        Assert.Equal([(5, 1), (4, 2)], latest.Select(r => (r.GetProperty("revision").GetInt32(), r.GetProperty("rollback_of").GetInt32())));
        Assert.True(latest[0].GetProperty("current").GetBoolean());
        Assert.Equal(5, (await _api.GetJsonAsync("/deployments/web")).GetProperty("placements")[0].GetProperty("current_revision").GetInt32());
        Assert.Equal(Base64(Compose("1")), (await _api.GetJsonAsync("/deployments/web/revisions/5")).GetProperty("compose_file_base64").GetString());

        // What runs is revision 1's content again: there is no success before it to go back to.
        await AssertProblemAsync(await _api.PostJsonAsync("/deployments/web/rollback", new { }), HttpStatusCode.Conflict, "before revision 1");
        await AssertProblemAsync(await _api.PostJsonAsync("/deployments/web/rollback", new { health_wait_seconds = 100, timeout_seconds = 60 }), HttpStatusCode.BadRequest, "too short for a health wait of 100 s");
    }

    private JsonElement LastCommandWithRevision(int revision)
    {
        lock (_agent.ReceivedCommands)
            return _agent.ReceivedCommands.Last(c => c.GetProperty("payload").TryGetProperty("revision", out var r) && r.GetInt32() == revision);
    }

    private async Task<JsonElement> RollbackAsync(string project, object body)
    {
        using var response = await _api.PostJsonAsync($"/deployments/{project}/rollback", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await _api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
    }

    [Fact]
    public async Task ARollbackThatCannotBeDoneSaysWhyAndSendsNothing()
    {
        await AssertProblemAsync(await _api.PostJsonAsync("/deployments/never/rollback", new { }), HttpStatusCode.NotFound, "never been deployed");
        await DeployAsync("single", "1");
        int before;
        lock (_agent.ReceivedCommands) before = _agent.ReceivedCommands.Count;
        await AssertProblemAsync(await _api.PostJsonAsync("/deployments/single/rollback", new { }), HttpStatusCode.Conflict, "no successful revision on agent 'vps-1' before revision 1");
        await AssertProblemAsync(await _api.PostJsonAsync("/deployments/single/rollback", new { revision = 9 }), HttpStatusCode.NotFound, "has no revision 9");
        await AssertProblemAsync(await _api.PostJsonAsync("/deployments/single/rollback", new { revision = 0 }), HttpStatusCode.BadRequest, "revision:");
        await AssertProblemAsync(await _api.PostJsonAsync("/deployments/single/rollback", new { health_wait_seconds = -1 }), HttpStatusCode.BadRequest, "health_wait_seconds");
        await AssertProblemAsync(await _api.PostJsonAsync("/deploy", new { project_name = "single", compose_file_base64 = Base64(Compose("2")), health_wait_seconds = 99999 }),
            HttpStatusCode.BadRequest, "health_wait_seconds");
        await AssertProblemAsync(await _api.GetAsync("/deployments/never/revisions"), HttpStatusCode.NotFound, "never been deployed");
        lock (_agent.ReceivedCommands) Assert.Equal(before, _agent.ReceivedCommands.Count);
        Assert.Single((await _api.GetJsonAsync("/deployments/single/revisions")).EnumerateArray());
    }

    [Fact]
    public async Task ASeedAgentWhichWouldIgnoreVariablesOrRollbackIsNotSentADeployThatNeedsThem()
    {
        await using var seed = new SeedAgent((_, _, _) => ("COMPLETED", "", ""));
        await seed.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, "seed-1");
        await _api.WaitForAgentOnlineAsync("seed-1");

        var deploy = new { project_name = "plain", compose_file_base64 = Base64(Compose("1")), agent_id = "seed-1", rollback_on_failure = true };
        await AssertProblemAsync(await _api.PostJsonAsync("/deploy", deploy), HttpStatusCode.Conflict, "speaks the seed protocol only");
        (await PutVariableAsync("plain", "TOKEN", new { value = "x", secret = true })).EnsureSuccessStatusCode();
        await AssertProblemAsync(await _api.PostJsonAsync("/deploy", deploy with { rollback_on_failure = false }), HttpStatusCode.Conflict, "would ignore the project's variables");
        Assert.Empty(seed.ReceivedCommands);

        // Without either, the seed agent deploys as the seed protocol says.
        (await _api.DeleteAsync("/deployments/plain/env/TOKEN")).EnsureSuccessStatusCode();
        using var accepted = await _api.PostJsonAsync("/deploy", deploy with { rollback_on_failure = false });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        // Two agents are online; a redeploy without agent_id goes where the project is.
        using var redeploy = await _api.PostJsonAsync("/deploy", new { project_name = "plain", compose_file_base64 = Base64(Compose("2")) });
        Assert.Equal("seed-1", (await redeploy.ReadJsonAsync()).GetProperty("agent_id").GetString());

        // A deploy queued while the agent was away is checked again when it comes back as a seed agent: not sent.
        await seed.DisposeAsync();
        await Eventually.TrueAsync(async () => !(await _api.GetJsonAsync("/agents/seed-1")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(20), "seed-1 to be offline");
        (await PutVariableAsync("plain", "TOKEN", new { value = "queued-secret", secret = true })).EnsureSuccessStatusCode();
        using var queued = await _api.PostJsonAsync("/deploy", deploy with { rollback_on_failure = false });
        var queuedJob = await queued.ReadJsonAsync();
        Assert.Equal("PENDING", queuedJob.GetProperty("status").GetString());
        await using var back = new SeedAgent((_, _, _) => ("COMPLETED", "", ""));
        await back.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, "seed-1");
        var failed = await _api.WaitForJobAsync(queuedJob.GetProperty("job_id").GetString()!);
        Assert.Equal("FAILED", failed.GetProperty("status").GetString());
        Assert.Contains("speaks the seed protocol only", failed.GetProperty("error").GetString());
        Assert.DoesNotContain(back.ReceivedCommands, c => c.GetProperty("type").GetString() == "DEPLOY_COMPOSE");
    }

    [Fact]
    public async Task TheGenericCommandRouteDoesNotDeploy()
    {
        await AssertProblemAsync(await _api.PostJsonAsync($"/agents/{AgentId}/commands", new { type = "DEPLOY_COMPOSE", payload = new { project_name = "x", compose_file_base64 = Base64(Compose("1")), revision = 1 } }),
            HttpStatusCode.BadRequest, "DEPLOY_COMPOSE goes through POST /deploy");
        lock (_agent.ReceivedCommands) Assert.Empty(_agent.ReceivedCommands);
    }

    [Fact]
    public async Task ContainerLogsComeFromALogsJobOnTheAgent()
    {
        await DeployAsync("logged", "1");
        lock (_answers) _answers["LOGS"] = ("COMPLETED", "web-1 | hello\nweb-1 | world\n", "");
        using (var response = await _api.GetAsync("/deployments/logged/logs?tail=2&since=10m&service=web&timestamps=true"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("web-1 | hello\nweb-1 | world\n", await response.Content.ReadAsStringAsync());
            var jobId = response.Headers.GetValues("X-InstaDeploy-Job-Id").Single();
            Assert.Equal("LOGS", (await _api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("type").GetString());
        }
        var payload = LastCommand("LOGS").GetProperty("payload");
        Assert.Equal(("logged", 2, "10m", "web", true), (payload.GetProperty("project_name").GetString(), payload.GetProperty("tail").GetInt32(),
            payload.GetProperty("since").GetString(), payload.GetProperty("service").GetString(), payload.GetProperty("timestamps").GetBoolean()));

        lock (_answers) _answers["LOGS"] = ("FAILED", "", "project 'logged' has no containers on this agent");
        await AssertProblemAsync(await _api.GetAsync("/deployments/logged/logs"), HttpStatusCode.BadGateway, "has no containers on this agent");

        lock (_answers) _answers["LOGS"] = ("COMPLETED", "tick\n", "");
        using var follow = await _api.GetAsync("/deployments/logged/logs?follow=true&follow_seconds=5", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", follow.Content.Headers.ContentType?.MediaType);
        var stream = await follow.Content.ReadAsStringAsync();
        Assert.Contains("data: tick", stream);
        Assert.Contains("event: end", stream);
        Assert.Equal(5, LastCommand("LOGS").GetProperty("payload").GetProperty("follow_seconds").GetInt32());
    }

    [Fact]
    public async Task LogStreamsHeldOpenCannotCrowdOutDeploys()
    {
        await DeployAsync("logged", "1");
        lock (_answers) _answers.Remove("LOGS");
        _agentIgnoresLogs = true; // every LOGS job stays open, as a long follow does
        var jobs = new List<string>();
        for (var i = 0; i < 16; i++)
        {
            using var response = await _api.GetAsync("/deployments/logged/logs?follow=true&follow_seconds=600", HttpCompletionOption.ResponseHeadersRead);
            jobs.Add(response.Headers.GetValues("X-InstaDeploy-Job-Id").Single());
        }
        await AssertProblemAsync(await _api.GetAsync("/deployments/logged/logs?follow=true"), HttpStatusCode.TooManyRequests, "at most 16");
        Assert.Equal("COMPLETED", (await DeployAsync("logged", "2")).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("/deployments/logged/logs?tail=-1", HttpStatusCode.BadRequest, "tail: must be between 0 and 10000")]
    [InlineData("/deployments/logged/logs?since=yesterday", HttpStatusCode.BadRequest, "'yesterday' is not a duration")]
    [InlineData("/deployments/logged/logs?since=10m%3Brm", HttpStatusCode.BadRequest, "is not a duration")]
    [InlineData("/deployments/logged/logs?follow_seconds=0", HttpStatusCode.BadRequest, "follow_seconds")]
    [InlineData("/deployments/logged/logs?service=a%20b", HttpStatusCode.BadRequest, "service")]
    [InlineData("/deployments/nothing-here/logs", HttpStatusCode.NotFound, "never been deployed")]
    [InlineData("/deployments/logged/logs?agent_id=vps-9", HttpStatusCode.NotFound, "never deployed on agent 'vps-9'")]
    public async Task BadContainerLogRequestsAreRefusedBeforeAnythingIsSent(string url, HttpStatusCode status, string expected)
    {
        await DeployAsync("logged", "1");
        await AssertProblemAsync(await _api.GetAsync(url), status, expected);
        lock (_agent.ReceivedCommands) Assert.DoesNotContain(_agent.ReceivedCommands, c => c.GetProperty("type").GetString() == "LOGS");
    }
}
