using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Tests.Hub;

/// <summary>Our control plane with an agent written only to the seed README, over a real WebSocket on real Kestrel.</summary>
public sealed class SeedAgentInteropTests : IAsyncLifetime
{
    private static readonly string Compose = Convert.ToBase64String("services:\n  web:\n    image: local/busybox:1\n"u8.ToArray());
    private readonly ControlPlaneFactory _controlPlane = new();
    private HttpClient _api = null!;
    private readonly List<SeedAgent> _agents = [];

    public Task InitializeAsync()
    {
        _api = _controlPlane.CreateApiClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents) await agent.DisposeAsync();
        _api.Dispose();
        await _controlPlane.DisposeAsync();
    }

    private async Task<SeedAgent> ConnectAsync(string hostname, Func<string, string, JsonElement, (string, string, string)?>? handle = null)
    {
        var agent = new SeedAgent(handle ?? ((_, type, _) => ("COMPLETED", $"{type} done", "")));
        await agent.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, hostname);
        _agents.Add(agent);
        await _api.WaitForAgentOnlineAsync(hostname);
        return agent;
    }

    [Fact]
    public async Task AnAgentWithAWrongTokenIsRefusedWith401BeforeTheUpgrade()
    {
        var agent = new SeedAgent((_, _, _) => null);
        await Assert.ThrowsAsync<WebSocketException>(() => agent.ConnectAsync(_controlPlane.WebSocketUrl, "wrong-token-xyz", "intruder"));
        Assert.Equal(401, agent.RefusedWith);
        Assert.Equal(0, (await _api.GetJsonAsync("/agents")).GetArrayLength());
    }

    [Fact]
    public async Task AnAgentWithoutATokenIsRefusedWith401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ws");
        request.Headers.Add("X-Agent-Hostname", "intruder");
        using var response = await _api.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("AGENT_SECRET_TOKEN", (await response.ReadJsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AConnectedAgentIsListedWithItsHandshakeAndGoesOfflineWhenItLeaves()
    {
        var agent = await ConnectAsync("vps-1");
        var listed = await _api.GetJsonAsync("/agents/vps-1");
        Assert.Equal("vps-1", listed.GetProperty("hostname").GetString());
        Assert.Equal("1.0.0", listed.GetProperty("version").GetString());
        Assert.Equal("linux-amd64", listed.GetProperty("architecture").GetString());
        Assert.True(listed.GetProperty("online").GetBoolean());
        var lastSeen = listed.GetProperty("last_seen").GetDateTimeOffset();
        Assert.True(DateTimeOffset.UtcNow - lastSeen < TimeSpan.FromMinutes(1));

        await agent.DisposeAsync();
        _agents.Remove(agent);
        await Eventually.TrueAsync(async () => !(await _api.GetJsonAsync("/agents/vps-1")).GetProperty("online").GetBoolean(),
            TimeSpan.FromSeconds(10), "the agent to be offline");
    }

    [Fact]
    public async Task ADeployReachesASeedAgentAsTheReadmeSpellsItAndItsOneResponseCompletesTheJob()
    {
        var agent = await ConnectAsync("vps-1", (_, _, _) => ("COMPLETED", "Deployment successful", ""));

        using var response = await _api.PostJsonAsync("/deploy", new { project_name = "my-app", compose_file_base64 = Compose });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.ReadJsonAsync();
        var jobId = accepted.GetProperty("job_id").GetString()!;
        Assert.Equal("vps-1", accepted.GetProperty("agent_id").GetString());
        Assert.Equal($"/jobs/{jobId}", response.Headers.Location?.ToString());

        var job = await _api.WaitForJobAsync(jobId);
        Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
        Assert.Equal("Deployment successful", job.GetProperty("logs").GetString());
        Assert.Equal("DEPLOY_COMPOSE", job.GetProperty("type").GetString());
        Assert.Equal("my-app", job.GetProperty("project_name").GetString());

        var command = Assert.Single(agent.ReceivedCommands);
        Assert.Equal(jobId, command.GetProperty("id").GetString());
        Assert.Equal(600, command.GetProperty("timeout_seconds").GetInt32()); // extra field: the job's deadline
        Assert.Equal("DEPLOY_COMPOSE", command.GetProperty("type").GetString());
        Assert.Equal("my-app", command.GetProperty("payload").GetProperty("project_name").GetString());
        Assert.Equal(Compose, command.GetProperty("payload").GetProperty("compose_file_base64").GetString());

        var deployment = await _api.GetJsonAsync("/deployments/my-app");
        var placement = Assert.Single(deployment.GetProperty("placements").EnumerateArray());
        Assert.Equal(("vps-1", "running", jobId),
            (placement.GetProperty("agent_id").GetString(), placement.GetProperty("state").GetString(), placement.GetProperty("last_job_id").GetString()));
    }

    [Fact]
    public async Task AFailedResponseFailsTheJobAndTheDeployment()
    {
        await ConnectAsync("vps-1", (_, _, _) => ("FAILED", "pulling...", "image not found"));
        var jobId = await DeployAsync("broken");
        var job = await _api.WaitForJobAsync(jobId);
        Assert.Equal(("FAILED", "image not found"), (job.GetProperty("status").GetString(), job.GetProperty("error").GetString()));
        var placement = (await _api.GetJsonAsync("/deployments/broken")).GetProperty("placements")[0];
        Assert.Equal("failed", placement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task ProgressIsStoredAsItArrivesAndTheFinalResponseEndsTheJob()
    {
        var agent = await ConnectAsync("vps-1", (_, _, _) => null);
        var jobId = await DeployAsync("app");
        Assert.Equal("SENT", (await _api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString());

        await agent.SendRawAsync($$"""{"job_id":"{{jobId}}","status":"RUNNING","logs":"Creating app_web_1 ...\n","error":""}""");
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString() == "RUNNING",
            TimeSpan.FromSeconds(10), "RUNNING");
        await agent.SendRawAsync($$"""{"job_id":"{{jobId}}","status":"RUNNING","logs":"Creating app_web_1 ... done","error":""}""");
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("logs").GetString() == "Creating app_web_1 ...\nCreating app_web_1 ... done\n",
            TimeSpan.FromSeconds(10), "both progress lines");

        await agent.SendRawAsync($$"""{"job_id":"{{jobId}}","status":"COMPLETED","logs":"Creating app_web_1 ...\nCreating app_web_1 ... done\nDeployment successful\n","error":""}""");
        var job = await _api.WaitForJobAsync(jobId);
        Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
        Assert.EndsWith("Deployment successful\n", job.GetProperty("logs").GetString());

        // A late or repeated message never moves a finished job.
        await agent.SendRawAsync($$"""{"job_id":"{{jobId}}","status":"FAILED","logs":"","error":"late"}""");
        await agent.SendRawAsync("this is not json");
        await Task.Delay(300);
        var after = await _api.GetJsonAsync($"/jobs/{jobId}");
        Assert.Equal(("COMPLETED", ""), (after.GetProperty("status").GetString(), after.GetProperty("error").GetString()));
        Assert.True((await _api.GetJsonAsync("/agents/vps-1")).GetProperty("online").GetBoolean(), "a bad message must not drop the agent");
    }

    [Fact]
    public async Task AnAgentCannotAnswerAnotherAgentsJob()
    {
        await ConnectAsync("vps-1", (_, _, _) => null);
        var other = await ConnectAsync("vps-2", (_, _, _) => null);
        var jobId = await DeployAsync("app", "vps-1");
        await other.SendRawAsync($$"""{"job_id":"{{jobId}}","status":"COMPLETED","logs":"forged","error":""}""");
        await Task.Delay(300);
        Assert.Equal("SENT", (await _api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AgentIdMayBeLeftOutOnlyWhenOneAgentIsOnline()
    {
        using (var none = await _api.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = Compose }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
            Assert.Contains("No agent is online", (await none.ReadJsonAsync()).GetProperty("detail").GetString());
        }

        await ConnectAsync("vps-1");
        await ConnectAsync("vps-2");
        using var two = await _api.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = Compose });
        Assert.Equal(HttpStatusCode.BadRequest, two.StatusCode);
        var detail = (await two.ReadJsonAsync()).GetProperty("detail").GetString();
        Assert.Contains("vps-1", detail);
        Assert.Contains("vps-2", detail);
    }

    [Fact]
    public async Task StopAndStatusGoToTheAgentTheProjectIsDeployedOn()
    {
        var first = await ConnectAsync("vps-1");
        var second = await ConnectAsync("vps-2");
        var deployJob = await DeployAsync("app", "vps-2");
        await _api.WaitForJobAsync(deployJob);

        using var status = await _api.PostJsonAsync("/status", new { project_name = "app" });
        Assert.Equal(HttpStatusCode.Accepted, status.StatusCode);
        Assert.Equal("vps-2", (await status.ReadJsonAsync()).GetProperty("agent_id").GetString());

        using var stop = await _api.PostJsonAsync("/stop", new { project_name = "app" });
        var stopJob = (await stop.ReadJsonAsync()).GetProperty("job_id").GetString()!;
        await _api.WaitForJobAsync(stopJob);
        Assert.Equal("stopped", (await _api.GetJsonAsync("/deployments/app")).GetProperty("placements")[0].GetProperty("state").GetString());
        Assert.Empty(first.ReceivedCommands);
        Assert.Equal(["DEPLOY_COMPOSE", "STATUS", "STOP_COMPOSE"], second.ReceivedCommands.Select(c => c.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task StoppingAProjectThatWasNeverDeployedThereCreatesNoPlacement()
    {
        await ConnectAsync("vps-1", (_, _, _) => ("FAILED", "", "project 'ghost' is not deployed on this agent"));
        using var response = await _api.PostJsonAsync("/stop", new { project_name = "ghost", agent_id = "vps-1" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await _api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.GetAsync("/deployments/ghost")).StatusCode);
    }

    [Fact]
    public async Task AKnownAgentThatIsOfflineIs409WithFailFastAndNothingIsCreated()
    {
        var agent = await ConnectAsync("vps-1");
        await agent.DisposeAsync();
        _agents.Remove(agent);
        await Eventually.TrueAsync(async () => !(await _api.GetJsonAsync("/agents/vps-1")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), "offline");

        using var response = await _api.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = Compose, agent_id = "vps-1", fail_fast = true });
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("offline", (await response.ReadJsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(0, (await _api.GetJsonAsync("/jobs")).GetArrayLength());
    }

    [Fact]
    public async Task ADeployForAnOfflineAgentIsQueuedAndDeliveredInOrderWhenItConnects()
    {
        var first = await ConnectAsync("vps-1");
        await first.DisposeAsync();
        _agents.Remove(first);
        await Eventually.TrueAsync(async () => !(await _api.GetJsonAsync("/agents/vps-1")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), "offline");

        var queued = new List<string>();
        foreach (var project in new[] { "one", "two", "three" })
        {
            using var response = await _api.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = Compose, agent_id = "vps-1" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var accepted = await response.ReadJsonAsync();
            Assert.Equal("PENDING", accepted.GetProperty("status").GetString());
            queued.Add(accepted.GetProperty("job_id").GetString()!);
        }

        var back = await ConnectAsync("vps-1");
        foreach (var jobId in queued)
            Assert.Equal("COMPLETED", (await _api.WaitForJobAsync(jobId)).GetProperty("status").GetString());
        Assert.Equal(queued, back.ReceivedCommands.Select(c => c.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task HealthCheckIsSentWithAnEmptyPayload()
    {
        var agent = await ConnectAsync("vps-1");
        using var response = await _api.PostAsync("/agents/vps-1/health", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await _api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
        var command = Assert.Single(agent.ReceivedCommands);
        Assert.Equal("HEALTH_CHECK", command.GetProperty("type").GetString());
        Assert.Equal("{}", command.GetProperty("payload").GetRawText());
    }

    [Fact]
    public async Task JobsCanBeFilteredByAgentProjectAndStatus()
    {
        await ConnectAsync("vps-1", (_, _, payload) => payload.GetProperty("project_name").GetString() == "bad" ? ("FAILED", "", "no") : ("COMPLETED", "", ""));
        await ConnectAsync("vps-2");
        foreach (var (project, agent) in new[] { ("good", "vps-1"), ("bad", "vps-1"), ("good", "vps-2") })
            await _api.WaitForJobAsync(await DeployAsync(project, agent));

        Assert.Equal(3, (await _api.GetJsonAsync("/jobs")).GetArrayLength());
        Assert.Equal(2, (await _api.GetJsonAsync("/jobs?agent_id=vps-1")).GetArrayLength());
        Assert.Equal(2, (await _api.GetJsonAsync("/jobs?project_name=good")).GetArrayLength());
        var failed = await _api.GetJsonAsync("/jobs?status=FAILED");
        Assert.Equal("bad", Assert.Single(failed.EnumerateArray()).GetProperty("project_name").GetString());
        Assert.Equal(1, (await _api.GetJsonAsync("/jobs?agent_id=vps-1&project_name=good&status=COMPLETED")).GetArrayLength());
        Assert.Equal(1, (await _api.GetJsonAsync("/jobs?limit=1")).GetArrayLength());
    }

    private async Task<string> DeployAsync(string project, string? agentId = null)
    {
        using var response = await _api.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = Compose, agent_id = agentId });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
    }
}
