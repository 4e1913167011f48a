using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace InstaDeploy.ControlPlane.Tests.Reliability;

/// <summary>
/// What the control plane shows matches what the agent was asked to do, whatever the timing: jobs reach the agent in the
/// order they were stored (across reconnects and concurrent requests), a deadline counts only time the agent could have
/// answered in, nothing waits for an event that will not come, and a queue expiry never leaves a stale placement.
/// The agent is a peer written to the seed README, with the reliable-delivery extension where the test needs it.
/// </summary>
public sealed class DeliveryOrderAndDeadlineTests
{
    private static readonly string Compose = Convert.ToBase64String(Encoding.UTF8.GetBytes("services:\n  web:\n    image: local/busybox:1\n"));

    [Fact]
    public async Task AJobStoredWhileTheAgentReconnectsGoesAfterTheOnesThatWaitedForIt()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var api = controlPlane.CreateApiClient();
        await OfflineAsync(controlPlane, api, "order-1");
        var waited = new List<string>();
        for (var i = 0; i < 2; i++) waited.Add(await DeployAsync(api, "shop", "order-1"));

        // It connects, but says what it holds (AGENT_STATE) only after a third deploy was stored.
        await using var agent = new SeedAgent((_, _, _) => null);
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "order-1", "reliable-delivery");
        await api.WaitForAgentOnlineAsync("order-1");
        var third = await DeployAsync(api, "shop", "order-1");
        await Task.Delay(200);
        lock (agent.ReceivedCommands) Assert.Empty(agent.ReceivedCommands); // nothing overtakes the backlog
        await agent.SendRawAsync("""{"type":"AGENT_STATE","running":[],"results":[]}""");

        await Eventually.TrueAsync(() => { lock (agent.ReceivedCommands) return agent.ReceivedCommands.Count == 3; }, TimeSpan.FromSeconds(10), "three deploys");
        lock (agent.ReceivedCommands)
            Assert.Equal([.. waited, third], agent.ReceivedCommands.Select(c => c.GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task ConcurrentDeploysOfOneProjectReachTheAgentInTheOrderTheyWereStored()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000" });
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => ("COMPLETED", "ok", ""));
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "order-2");
        await api.WaitForAgentOnlineAsync("order-2");

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => DeployAsync(api, "shop", "order-2")));
        await Eventually.TrueAsync(() => { lock (agent.ReceivedCommands) return agent.ReceivedCommands.Count == 20; }, TimeSpan.FromSeconds(20), "twenty deploys");
        // Revisions are numbered as the deploys are stored: the agent must see them in that order.
        List<int> received;
        lock (agent.ReceivedCommands) received = [.. agent.ReceivedCommands.Select(c => c.GetProperty("payload").GetProperty("revision").GetInt32())];
        Assert.Equal(Enumerable.Range(1, 20), received);
    }

    [Fact]
    public async Task ADeadlineDoesNotRunOutWhileTheAgentIsAwayAndTheResentJobCarriesTheTimeItHasLeft()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var controlPlane = new ControlPlaneFactory(time: clock);
        using var api = controlPlane.CreateApiClient();
        string jobId;
        await using (var first = new SeedAgent((_, _, _) => null))
        {
            await first.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "away-1", "reliable-delivery");
            await first.SendRawAsync("""{"type":"AGENT_STATE","running":[],"results":[]}""");
            await api.WaitForAgentOnlineAsync("away-1");
            jobId = await DeployAsync(api, "away", "away-1", timeoutSeconds: 100);
            await Eventually.TrueAsync(() => { lock (first.ReceivedCommands) return first.ReceivedCommands.Count == 1; }, TimeSpan.FromSeconds(10), "the deploy to arrive");
            clock.Advance(TimeSpan.FromSeconds(40));
        } // the connection is lost 40 s into the job
        await Eventually.TrueAsync(async () => !(await api.GetJsonAsync("/agents/away-1")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), "offline");

        clock.Advance(TimeSpan.FromSeconds(300)); // far past the deadline, while it is away
        await Task.Delay(1500);
        Assert.Equal("SENT", (await api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString());

        // Back, without the job in its journal: it is sent again, with the ~60 s it had left, not 100 s and not 0.
        await using var back = new SeedAgent((_, _, _) => null);
        await back.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "away-1", "reliable-delivery");
        await back.SendRawAsync("""{"type":"AGENT_STATE","running":[],"results":[]}""");
        // (The reconciler may ask for a STATUS too, as the agent came back from far away: only the deploy matters here.)
        JsonElement Resent() { lock (back.ReceivedCommands) return back.ReceivedCommands.FirstOrDefault(c => c.GetProperty("id").GetString() == jobId); }
        await Eventually.TrueAsync(() => Resent().ValueKind == JsonValueKind.Object, TimeSpan.FromSeconds(10), "the deploy sent again");
        var left = Resent().GetProperty("timeout_seconds").GetInt32();
        Assert.InRange(left, 50, 62);
        clock.Advance(TimeSpan.FromSeconds(left - 5));
        await Task.Delay(1500);
        Assert.Equal("SENT", (await api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString());
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("TIMED_OUT", (await api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(10))).GetProperty("status").GetString());
    }

    [Fact]
    public async Task ASentJobWhoseAgentNeverComesBackEndsAtItsQueueExpiry()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var controlPlane = new ControlPlaneFactory(time: clock);
        using var api = controlPlane.CreateApiClient();
        string jobId;
        await using (var agent = new SeedAgent((_, _, _) => null))
        {
            await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "gone-1");
            await api.WaitForAgentOnlineAsync("gone-1");
            jobId = await DeployAsync(api, "gone", "gone-1", timeoutSeconds: 30, queueTtlSeconds: 600);
            await Eventually.TrueAsync(() => { lock (agent.ReceivedCommands) return agent.ReceivedCommands.Count == 1; }, TimeSpan.FromSeconds(10), "sent");
        }
        await Eventually.TrueAsync(async () => !(await api.GetJsonAsync("/agents/gone-1")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), "offline");
        clock.Advance(TimeSpan.FromSeconds(601));
        var job = await api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(10));
        Assert.Equal("TIMED_OUT", job.GetProperty("status").GetString());
        Assert.Contains("went away while the job ran", job.GetProperty("error").GetString());
    }

    [Fact]
    public async Task ASentJobThatShowsNoProgressIsSentAgainToAnAgentThatRemembersJobs()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var controlPlane = new ControlPlaneFactory(time: clock);
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => null); // takes it, never answers (its journal lost it, say)
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "quiet-1", "reliable-delivery");
        await agent.SendRawAsync("""{"type":"AGENT_STATE","running":[],"results":[]}""");
        await api.WaitForAgentOnlineAsync("quiet-1");
        var jobId = await DeployAsync(api, "quiet", "quiet-1", timeoutSeconds: 3600);
        await Eventually.TrueAsync(() => { lock (agent.ReceivedCommands) return agent.ReceivedCommands.Count == 1; }, TimeSpan.FromSeconds(10), "sent once");

        for (var i = 0; i < 8 && agent.ReceivedCommands.Count < 2; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(300);
        }
        await Eventually.TrueAsync(() => { lock (agent.ReceivedCommands) return agent.ReceivedCommands.Count >= 2; }, TimeSpan.FromSeconds(10), "sent again");
        lock (agent.ReceivedCommands) Assert.All(agent.ReceivedCommands, c => Assert.Equal(jobId, c.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task TwoDeploysThatExpireInTheQueueLeaveNoStalePlacement()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var controlPlane = new ControlPlaneFactory(time: clock);
        using var api = controlPlane.CreateApiClient();
        await using (var agent = new SeedAgent((_, _, _) => ("COMPLETED", "ok", "")))
        {
            await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "stale-1");
            await api.WaitForAgentOnlineAsync("stale-1");
            await api.WaitForJobAsync(await DeployAsync(api, "kept", "stale-1")); // "kept" runs there
        }
        await Eventually.TrueAsync(async () => !(await api.GetJsonAsync("/agents/stale-1")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), "offline");
        foreach (var project in new[] { "kept", "kept", "fresh", "fresh" }) await DeployAsync(api, project, "stale-1", queueTtlSeconds: 60);
        clock.Advance(TimeSpan.FromSeconds(61));
        await Eventually.TrueAsync(async () => (await api.GetJsonAsync("/jobs?status=EXPIRED")).GetArrayLength() == 4, TimeSpan.FromSeconds(10), "four expired");

        var kept = (await api.GetJsonAsync("/deployments/kept")).GetProperty("placements")[0];
        Assert.Equal("running", kept.GetProperty("state").GetString()); // what the deploy that did reach it left
        Assert.Equal(1, kept.GetProperty("current_revision").GetInt32());
        Assert.Equal("COMPLETED", (await api.GetJsonAsync($"/jobs/{kept.GetProperty("last_job_id").GetString()}")).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/deployments/fresh")).StatusCode); // never deployed there
    }

    private static async Task OfflineAsync(ControlPlaneFactory controlPlane, HttpClient api, string agentId)
    {
        await using (var agent = new SeedAgent((_, _, _) => null))
        {
            await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, agentId, "reliable-delivery");
            await api.WaitForAgentOnlineAsync(agentId);
        }
        await Eventually.TrueAsync(async () => !(await api.GetJsonAsync($"/agents/{agentId}")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), $"{agentId} offline");
    }

    private static async Task<string> DeployAsync(HttpClient api, string project, string agentId, int? timeoutSeconds = null, int? queueTtlSeconds = null)
    {
        var body = new Dictionary<string, object> { ["project_name"] = project, ["agent_id"] = agentId, ["compose_file_base64"] = Compose };
        if (timeoutSeconds is { } t) body["timeout_seconds"] = t;
        if (queueTtlSeconds is { } q) body["queue_ttl_seconds"] = q;
        using var response = await api.PostJsonAsync("/deploy", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
    }
}
