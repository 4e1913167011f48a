using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Tests.Cluster;

/// <summary>
/// Several control-plane instances (real Kestrel each) on one real PostgreSQL database: the server eng/setup-postgres.sh
/// starts (eng/test.sh runs it), or the one INSTADEPLOY_TEST_POSTGRES names.
/// </summary>
public sealed class SeveralInstancesTests : IDisposable
{
    private readonly TestPostgres _database = TestPostgres.Create(TestPostgres.Server());

    public void Dispose() => _database.Dispose();

    private ControlPlaneFactory Instance(string name) => new(new Dictionary<string, string?>
    {
        ["INSTADEPLOY_POSTGRES"] = _database.ConnectionString,
        ["INSTADEPLOY_INSTANCE_ID"] = name,
        ["INSTADEPLOY_AGENT_PING_SECONDS"] = "1",
    });

    [Fact]
    public async Task ACommandSentToOneInstanceReachesTheAgentConnectedToAnotherInMilliseconds()
    {
        await using var a = Instance("a");
        using var apiA = a.CreateApiClient();
        await using var b = Instance("b");
        using var apiB = b.CreateApiClient();
        await using var agent = new SeedAgent((_, type, _) => ("COMPLETED", $"{type} done", ""));
        await agent.ConnectAsync(a.WebSocketUrl, a.AgentToken, "held-by-a");
        await apiB.WaitForAgentOnlineAsync("held-by-a"); // B sees the presence A recorded

        // The first round warms up both instances' code paths (JIT on a loaded 2-core machine takes seconds); then time.
        for (var i = 0; i < 6; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await apiB.PostJsonAsync("/agents/held-by-a/commands", new { type = "HEALTH_CHECK" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
            await Eventually.TrueAsync(() => { lock (agent.ReceivedCommands) return agent.ReceivedCommands.Any(c => c.GetProperty("id").GetString() == jobId); }, TimeSpan.FromSeconds(10), "the command to reach the agent");
            // Well under the delivery retry's 5 s: B's NOTIFY woke A.
            Assert.True(i == 0 || watch.Elapsed < TimeSpan.FromSeconds(2), $"the command took {watch.Elapsed.TotalMilliseconds:F0} ms to cross instances");
            var job = await apiB.WaitForJobAsync(jobId, TimeSpan.FromSeconds(10));
            Assert.Equal(("COMPLETED", "HEALTH_CHECK done"), (job.GetProperty("status").GetString(), job.GetProperty("logs").GetString()));
            Assert.Equal("COMPLETED", (await apiA.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task CommandsSentQuicklyToOneInstanceReachTheAgentOnAnotherInTheOrderTheyWereAccepted()
    {
        await using var a = Instance("a");
        await using var b = Instance("b");
        using var apiB = b.CreateApiClient();
        await using var agent = new SeedAgent((_, type, _) => ("COMPLETED", $"{type} done", ""));
        await agent.ConnectAsync(a.WebSocketUrl, a.AgentToken, "ordered-on-a");
        await apiB.WaitForAgentOnlineAsync("ordered-on-a");

        // Each is accepted (committed, its wake-up with it) before the next is sent; A handles each wake-up on its own.
        var accepted = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            using var response = await apiB.PostJsonAsync("/agents/ordered-on-a/commands", new { type = "HEALTH_CHECK" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            accepted.Add((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        }
        await Eventually.TrueAsync(() => { lock (agent.ReceivedCommands) return agent.ReceivedCommands.Count >= accepted.Count; }, TimeSpan.FromSeconds(20), "every command to reach the agent");
        List<string> received;
        lock (agent.ReceivedCommands) received = [.. agent.ReceivedCommands.Select(c => c.GetProperty("id").GetString()!)];
        Assert.Equal(accepted, received);
        foreach (var jobId in accepted) Assert.Equal("COMPLETED", (await apiB.WaitForJobAsync(jobId, TimeSpan.FromSeconds(10))).GetProperty("status").GetString());
    }

    [Fact]
    public void AWakeUpNamesTheJobAndOneFromAnEarlierVersionNamesOnlyTheAgent()
    {
        var job = new Data.JobEntity { Id = "job-0193", AgentId = "web-1.eu", Type = "HEALTH_CHECK", Status = "PENDING", PayloadJson = "{}", TimeoutSeconds = 600 };
        Assert.Equal("web-1.eu job-0193 600", ControlPlane.Cluster.ClusterSignals.JobWaitingPayload(job));
        Assert.Equal(new ControlPlane.Cluster.JobWaitingSignal("web-1.eu", "job-0193", 600), ControlPlane.Cluster.ClusterSignals.ParseJobWaiting("web-1.eu job-0193 600"));
        Assert.Equal(new ControlPlane.Cluster.JobWaitingSignal("web-1.eu", null, 0), ControlPlane.Cluster.ClusterSignals.ParseJobWaiting("web-1.eu"));
        Assert.Null(ControlPlane.Cluster.ClusterSignals.ParseJobWaiting("not an agent; DROP"));
    }

    [Fact]
    public async Task AnInstanceThatStartsLeavesTheOthersAgentsOnlineAndAnAgentMovesToAnotherInstance()
    {
        var a = Instance("a");
        using var apiA = a.CreateApiClient();
        var agent = new SeedAgent((_, _, _) => null);
        await agent.ConnectAsync(a.WebSocketUrl, a.AgentToken, "lease-1");
        await apiA.WaitForAgentOnlineAsync("lease-1");

        await using var b = Instance("b");
        using var apiB = b.CreateApiClient();
        await Task.Delay(3500); // more than the lease (3 renewals of 1 s): A keeps renewing it
        Assert.True((await apiB.GetJsonAsync("/agents/lease-1")).GetProperty("online").GetBoolean(), "B's start and B's presence sweep leave A's agent online");

        // A goes away: its agent is offline, seen from B.
        await a.DisposeAsync();
        await agent.DisposeAsync();
        await Eventually.TrueAsync(async () => !(await apiB.GetJsonAsync("/agents/lease-1")).GetProperty("online").GetBoolean(),
            TimeSpan.FromSeconds(15), "the agent of the stopped instance to be offline");

        // It reconnects to B, and is online again.
        await using var back = new SeedAgent((_, _, _) => null);
        await back.ConnectAsync(b.WebSocketUrl, b.AgentToken, "lease-1");
        await apiB.WaitForAgentOnlineAsync("lease-1");
    }

    [Fact]
    public async Task AFollowerOnAnotherInstanceSeesTheAgentsLinesLiveEachOnceAndResumesWithLastEventId()
    {
        await using var a = Instance("a");
        using var apiA = a.CreateApiClient();
        await using var b = Instance("b");
        using var apiB = b.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => null); // answers by hand, below
        await agent.ConnectAsync(a.WebSocketUrl, a.AgentToken, "output-on-a");
        await apiB.WaitForAgentOnlineAsync("output-on-a");
        foreach (var api in new[] { apiA, apiB })
        {
            using var health = await api.GetAsync("/health"); // the storage probe writes to PostgreSQL, not to a SQLite file
            Assert.True(health.StatusCode == HttpStatusCode.OK, await health.Content.ReadAsStringAsync());
        }

        using var response = await apiB.PostJsonAsync("/agents/output-on-a/commands", new { type = "HEALTH_CHECK" });
        var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
        await Eventually.TrueAsync(() => { lock (agent.ReceivedCommands) return agent.ReceivedCommands.Count == 1; }, TimeSpan.FromSeconds(10), "the command to reach the agent");
        Task Running(string logs) => agent.SendRawAsync(JsonSerializer.Serialize(new { job_id = jobId, status = "RUNNING", logs, error = "" }));

        await using var follow = await SseClient.OpenAsync(apiB, $"/jobs/{jobId}/logs?follow=true");
        var next = 1;
        for (var round = 0; round < 5; round++)
        {
            var watch = Stopwatch.StartNew();
            await Running($"line {next}\nline {next + 1}\n");
            var log = await NextLogAsync(follow);
            Assert.Equal([$"line {next}", $"line {next + 1}"], log.Lines);
            Assert.Equal((next + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), log.Id);
            // Well under the 2 s poll: A's NOTIFY after its batch was stored woke B (the first round warms up).
            Assert.True(round == 0 || watch.Elapsed < TimeSpan.FromMilliseconds(1500), $"a line took {watch.Elapsed.TotalMilliseconds:F0} ms to reach the follower on B");
            next += 2;
        }

        // A client that reconnects to B (say through the balancer) after line 4 gets lines 5 on, once each.
        await using var resumed = await SseClient.OpenAsync(apiB, $"/jobs/{jobId}/logs?follow=true", lastEventId: "4");
        var again = await NextLogAsync(resumed);
        Assert.Equal(["line 5", "line 6", "line 7", "line 8", "line 9", "line 10"], again.Lines);

        await agent.SendRawAsync(JsonSerializer.Serialize(new { job_id = jobId, status = "COMPLETED", logs = string.Concat(Enumerable.Range(1, 11).Select(n => $"line {n}\n")), error = "" }));
        foreach (var stream in new[] { follow, resumed })
        {
            var rest = await stream.ReadToEndAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(["line 11"], rest.Single(e => e.Name == "log").Lines);
            Assert.Equal("end", rest.Last().Name);
            Assert.Equal("COMPLETED", JsonDocument.Parse(rest.Last().Data).RootElement.GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task AnAgentConnectedToAnotherInstanceIsOnlineForFailFastCommandsAndIsTheOnlyOnlineAgentToChoose()
    {
        await using var a = Instance("a");
        await using var b = Instance("b");
        using var apiB = b.CreateApiClient();
        await using var agent = new SeedAgent((_, type, _) => ("COMPLETED", $"{type} done", ""));
        await agent.ConnectAsync(a.WebSocketUrl, a.AgentToken, "only-on-a");
        await apiB.WaitForAgentOnlineAsync("only-on-a");

        // fail_fast refuses an offline agent; this one is online, on A.
        using (var response = await apiB.PostJsonAsync("/agents/only-on-a/commands", new { type = "HEALTH_CHECK", fail_fast = true }))
        {
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
            var job = await apiB.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromSeconds(10));
            Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
        }

        // A deploy that names no agent goes to the only online one, wherever it is connected.
        var compose = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("services:\n  web:\n    image: local/busybox:1\n"));
        using (var response = await apiB.PostJsonAsync("/deploy", new { project_name = "chosen", compose_file_base64 = compose }))
        {
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
            var job = await apiB.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromSeconds(10));
            Assert.Equal(("only-on-a", "COMPLETED"), (job.GetProperty("agent_id").GetString(), job.GetProperty("status").GetString()));
        }
    }

    private static async Task<SseEvent> NextLogAsync(SseClient follow)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await follow.NextAsync(limit.Token) is { } next)
            if (next.Name == "log") return next;
        throw new Xunit.Sdk.XunitException("the stream ended before a log event");
    }
}
