using System.Net;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Tests.Rollouts;

/// <summary>Rollouts to 200 simulated agents: batches, canaries, offline targets, failures, and the event stream.</summary>
public sealed class RolloutStrategyTests(SimulatedFleetFixture fixture) : IClassFixture<SimulatedFleetFixture>
{
    private HttpClient Api => fixture.Api;

    [Fact]
    public async Task MaxParallelIsNeverExceededByTheJobsOwnTimesAndEveryAgentGetsOneDeploy()
    {
        const string project = "wide";
        await using var events = await SseClient.OpenAsync(Api, "/rollouts/" + "missing/events");
        Assert.Equal(HttpStatusCode.NotFound, events.Response.StatusCode);

        var created = await fixture.CreateAsync(new
        {
            project_name = project, compose_file_base64 = SimulatedFleetFixture.Compose("v1"),
            targets = new { selector = "role=web" }, strategy = new { max_parallel = "10%" },
        });
        var id = created.GetProperty("rollout_id").GetString()!;
        Assert.Equal(20, created.GetProperty("strategy").GetProperty("max_parallel").GetInt32());
        Assert.Equal(SimulatedFleetFixture.Size, created.GetProperty("targets").GetArrayLength());
        await using var stream = await SseClient.OpenAsync(Api, $"/rollouts/{id}/events");

        var done = await fixture.WaitAsync(id, r => SimulatedFleetFixture.State(r) == "succeeded", "to succeed");
        Assert.Equal(SimulatedFleetFixture.Size, SimulatedFleetFixture.Count(done, "succeeded"));

        // From the jobs' own records: how many deploys of the project were open at any moment.
        var spans = new List<(DateTimeOffset Start, DateTimeOffset End)>();
        var revisions = new HashSet<int>();
        foreach (var target in done.GetProperty("targets").EnumerateArray())
        {
            var job = await Api.GetJsonAsync($"/jobs/{target.GetProperty("job_id").GetString()}");
            Assert.Equal(("COMPLETED", target.GetProperty("agent_id").GetString()), (job.GetProperty("status").GetString(), job.GetProperty("agent_id").GetString()));
            spans.Add((job.GetProperty("created_at").GetDateTimeOffset(), job.GetProperty("completed_at").GetDateTimeOffset()));
            Assert.True(revisions.Add(target.GetProperty("revision").GetInt32()), "each target has a revision of its own");
        }
        var peak = spans.SelectMany(s => new[] { (s.Start, 1), (s.End, -1) }).OrderBy(e => e.Item1).ThenBy(e => e.Item2)
            .Aggregate((Open: 0, Peak: 0), (acc, e) => (acc.Open + e.Item2, Math.Max(acc.Peak, acc.Open + e.Item2))).Peak;
        Assert.InRange(peak, 2, 20);

        foreach (var agent in fixture.Fleet.AgentIds)
            Assert.Single(fixture.Fleet.Received[agent].Where(c => c.Type == "DEPLOY_COMPOSE" && c.Payload.GetProperty("project_name").GetString() == project).Select(c => c.JobId).Distinct());

        // The stream: every change once, numbered 1, 2, 3…, then the end.
        var seen = await stream.ReadToEndAsync(TimeSpan.FromSeconds(30));
        var numbered = seen.Where(e => e.Id is not null).ToList();
        Assert.Equal(Enumerable.Range(1, numbered.Count).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)), numbered.Select(e => e.Id));
        Assert.Equal(done.GetProperty("last_event_id").GetInt64(), numbered.Count);
        Assert.Equal(SimulatedFleetFixture.Size, numbered.Count(e => e.Name == "target" && JsonDocument.Parse(e.Data).RootElement.GetProperty("state").GetString() == "succeeded"));
        Assert.Equal("end", seen.Last().Name);

        // Reconnecting after event 10 gets exactly the events after it.
        await using var again = await SseClient.OpenAsync(Api, $"/rollouts/{id}/events", lastEventId: "10");
        var rest = (await again.ReadToEndAsync(TimeSpan.FromSeconds(30))).Where(e => e.Id is not null).ToList();
        Assert.Equal(numbered.Skip(10).Select(e => (e.Id, e.Data)), rest.Select(e => (e.Id, e.Data)));
    }

    [Fact]
    public async Task CanariesGoFirstAndTheRestWaitsForPromote()
    {
        var created = await fixture.CreateAsync(new
        {
            project_name = "canary", compose_file_base64 = SimulatedFleetFixture.Compose("v1"),
            targets = new { selector = "zone=a" }, strategy = new { max_parallel = 10, canary = 2 },
        });
        var id = created.GetProperty("rollout_id").GetString()!;
        var waiting = await fixture.WaitAsync(id, r => r.GetProperty("awaiting_promotion").GetBoolean(), "to wait for promotion");
        Assert.Equal("paused", SimulatedFleetFixture.State(waiting));
        Assert.Equal(2, SimulatedFleetFixture.Count(waiting, "succeeded"));
        Assert.Equal(48, SimulatedFleetFixture.Count(waiting, "waiting"));

        // It stays there: nothing else is deployed until promote.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var still = await Api.GetJsonAsync($"/rollouts/{id}");
        Assert.Equal((2, 48), (SimulatedFleetFixture.Count(still, "succeeded"), SimulatedFleetFixture.Count(still, "waiting")));
        Assert.Equal(2, fixture.Fleet.Received.Values.Sum(q => q.Count(c => c.Payload.TryGetProperty("project_name", out var p) && p.GetString() == "canary")));
        using (var resume = await Api.PostAsync($"/rollouts/{id}/resume", null))
        {
            Assert.Equal(HttpStatusCode.Conflict, resume.StatusCode);
            Assert.Contains("promote", (await resume.ReadJsonAsync()).GetProperty("detail").GetString());
        }

        using (var promote = await Api.PostAsync($"/rollouts/{id}/promote", null))
            Assert.Equal(HttpStatusCode.OK, promote.StatusCode);
        var done = await fixture.WaitAsync(id, r => SimulatedFleetFixture.State(r) == "succeeded", "to succeed after promote");
        Assert.Equal(50, SimulatedFleetFixture.Count(done, "succeeded"));
        using var twice = await Api.PostAsync($"/rollouts/{id}/promote", null);
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
    }

    [Fact]
    public async Task CanariesPromoteThemselvesOnceHealthyWithAutoPromote()
    {
        var created = await fixture.CreateAsync(new
        {
            project_name = "canary-auto", compose_file_base64 = SimulatedFleetFixture.Compose("v1"),
            targets = new { selector = "zone=b" }, strategy = new { max_parallel = 25, canary = new { count = 3, auto_promote = true } },
        });
        var done = await fixture.WaitAsync(created.GetProperty("rollout_id").GetString()!, r => SimulatedFleetFixture.State(r) == "succeeded", "to succeed");
        Assert.True(done.GetProperty("strategy").GetProperty("promoted").GetBoolean());
        var targets = done.GetProperty("targets").EnumerateArray().ToList();
        var lastCanary = targets.Take(3).Max(t => t.GetProperty("finished_at").GetDateTimeOffset());
        Assert.All(targets.Skip(3), t => Assert.True(t.GetProperty("started_at").GetDateTimeOffset() >= lastCanary, "no other target starts before every canary ended"));
    }

    [Fact]
    public async Task OfflineTargetsAreSkippedOrWaitedForAsAsked()
    {
        // index in (…) picks five agents; they go offline (known to the control plane, not connected).
        int[] offline = [180, 181, 182, 183, 184];
        foreach (var i in offline) await fixture.Fleet.StopAgentAsync(SimulatedFleetFixture.AgentId(i));
        await Eventually.TrueAsync(async () => (await Api.GetJsonAsync("/agents?selector=index in (180,181,182,183,184)")).EnumerateArray().All(a => !a.GetProperty("online").GetBoolean()),
            TimeSpan.FromSeconds(30), "the five agents to be offline");
        var selector = "index in (" + string.Join(',', Enumerable.Range(175, 15)) + ")";

        var skipping = await fixture.CreateAsync(new
        {
            project_name = "offline-skip", compose_file_base64 = SimulatedFleetFixture.Compose("v1"),
            targets = new { selector }, strategy = new { max_parallel = 5, offline = "skip" },
        });
        var skipped = await fixture.WaitAsync(skipping.GetProperty("rollout_id").GetString()!, r => SimulatedFleetFixture.State(r) == "succeeded", "to succeed");
        Assert.Equal((10, 5), (SimulatedFleetFixture.Count(skipped, "succeeded"), SimulatedFleetFixture.Count(skipped, "skipped")));
        Assert.Equal(offline.Select(SimulatedFleetFixture.AgentId),
            skipped.GetProperty("targets").EnumerateArray().Where(t => t.GetProperty("state").GetString() == "skipped").Select(t => t.GetProperty("agent_id").GetString()));

        var waiting = await fixture.CreateAsync(new
        {
            project_name = "offline-wait", compose_file_base64 = SimulatedFleetFixture.Compose("v1"),
            targets = new { selector }, strategy = new { max_parallel = 5, offline = "wait" },
        });
        var id = waiting.GetProperty("rollout_id").GetString()!;
        var held = await fixture.WaitAsync(id, r => SimulatedFleetFixture.Count(r, "deploying") == 5 && SimulatedFleetFixture.Count(r, "succeeded") == 5, "to wait on the offline batch");
        foreach (var target in held.GetProperty("targets").EnumerateArray().Where(t => t.GetProperty("state").GetString() == "deploying"))
            Assert.Equal("PENDING", (await Api.GetJsonAsync($"/jobs/{target.GetProperty("job_id").GetString()}")).GetProperty("status").GetString());
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(5, SimulatedFleetFixture.Count(await Api.GetJsonAsync($"/rollouts/{id}"), "waiting")); // the next batch waits too

        foreach (var i in offline) fixture.Fleet.Start(SimulatedFleetFixture.AgentId(i), $"role=web,zone={(char)('a' + i % 4)},index={i}");
        var done = await fixture.WaitAsync(id, r => SimulatedFleetFixture.State(r) == "succeeded", "to succeed once the agents are back");
        Assert.Equal(15, SimulatedFleetFixture.Count(done, "succeeded"));
    }

    [Fact]
    public async Task FailuresPauseTheRolloutAfterMaxFailuresAndResumeAcceptsThem()
    {
        fixture.Failing.UnionWith([101, 103, 105]);
        var selector = "index in (" + string.Join(',', Enumerable.Range(100, 20)) + ")";
        var created = await fixture.CreateAsync(new
        {
            project_name = "fail-gate", compose_file_base64 = SimulatedFleetFixture.Compose("v1"),
            targets = new { selector }, strategy = new { max_parallel = 4, max_failures = 2, on_failure = "pause" },
        });
        var id = created.GetProperty("rollout_id").GetString()!;
        var paused = await fixture.WaitAsync(id, r => SimulatedFleetFixture.State(r) == "paused", "to pause");
        Assert.Contains("2 of 20 targets failed (max_failures 2)", paused.GetProperty("reason").GetString());
        Assert.Contains("did not become healthy", paused.GetProperty("reason").GetString());
        // Batch 1 (100-103) and 2 (104-107): 101 and 103 failed in the first; nothing after the first batch started.
        Assert.Equal(16, SimulatedFleetFixture.Count(paused, "waiting"));
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(16, SimulatedFleetFixture.Count(await Api.GetJsonAsync($"/rollouts/{id}"), "waiting"));

        using (var resume = await Api.PostAsync($"/rollouts/{id}/resume", null))
            Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        // One more failure (105) is under max_failures again: it goes on to the end, and ends failed.
        var done = await fixture.WaitAsync(id, r => SimulatedFleetFixture.State(r) == "failed", "to end failed");
        Assert.Equal((17, 3), (SimulatedFleetFixture.Count(done, "succeeded"), SimulatedFleetFixture.Count(done, "failed")));
        var failedTarget = done.GetProperty("targets").EnumerateArray().First(t => t.GetProperty("state").GetString() == "failed");
        Assert.StartsWith("FAILED: container web did not become healthy", failedTarget.GetProperty("error").GetString());
    }

    [Fact]
    public async Task OnFailureRollbackPutsThePreviousRevisionBackWhereTheNewOneWent()
    {
        fixture.Failing.Add(147);
        var selector = "index in (" + string.Join(',', Enumerable.Range(140, 10)) + ")";
        var first = await fixture.CreateAsync(new { project_name = "fail-back", compose_file_base64 = SimulatedFleetFixture.Compose("old"), targets = new { selector = "index in (140,141,142,143,144,145,146)" }, strategy = new { max_parallel = 7 } });
        var before = await fixture.WaitAsync(first.GetProperty("rollout_id").GetString()!, r => SimulatedFleetFixture.State(r) == "succeeded", "the first rollout to succeed");
        var previous = before.GetProperty("targets").EnumerateArray().ToDictionary(t => t.GetProperty("agent_id").GetString()!, t => t.GetProperty("revision").GetInt32());

        var created = await fixture.CreateAsync(new
        {
            project_name = "fail-back", compose_file_base64 = SimulatedFleetFixture.Compose("new"),
            targets = new { selector }, strategy = new { max_parallel = 4, on_failure = "rollback" },
        });
        var done = await fixture.WaitAsync(created.GetProperty("rollout_id").GetString()!, r => SimulatedFleetFixture.State(r) == "rolled_back", "to roll back");
        var targets = done.GetProperty("targets").EnumerateArray().ToList();
        // Batches 140-143 (deployed), 144-147 (147 failed), 148-149 never started.
        Assert.Equal(["cancelled", "cancelled"], targets.Skip(8).Select(t => t.GetProperty("state").GetString()));
        foreach (var target in targets.Take(7))
        {
            var agent = target.GetProperty("agent_id").GetString()!;
            Assert.Equal("rolled_back", target.GetProperty("state").GetString());
            Assert.Equal(previous[agent], target.GetProperty("previous_revision").GetInt32());
            var restore = await Api.GetJsonAsync($"/deployments/fail-back/revisions/{target.GetProperty("rollback_revision").GetInt32()}");
            Assert.Equal(previous[agent], restore.GetProperty("rollback_of").GetInt32());
            var last = fixture.Fleet.Received[agent].Last(c => c.Payload.TryGetProperty("project_name", out var p) && p.GetString() == "fail-back");
            Assert.Equal("DEPLOY_COMPOSE", last.Type);
            Assert.Contains("old", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(last.Payload.GetProperty("compose_file_base64").GetString()!)));
        }
        // 147 never ran the project: what ran there before was nothing, so it is stopped.
        Assert.Equal(("rolled_back", JsonValueKind.Null), (targets[7].GetProperty("state").GetString(), targets[7].GetProperty("previous_revision").ValueKind));
        Assert.Equal("STOP_COMPOSE", fixture.Fleet.Received[SimulatedFleetFixture.AgentId(147)].Last().Type);
    }
    [Fact]
    public async Task AFollowerHearsThatATargetStartedDeployingWhileItsDeployRuns()
    {
        var deployTime = fixture.Fleet.DeployTime;
        fixture.Fleet.DeployTime = TimeSpan.FromSeconds(12);
        try
        {
            var created = await fixture.CreateAsync(new
            {
                project_name = "heard-live", compose_file_base64 = SimulatedFleetFixture.Compose("v1"),
                targets = new { agent_ids = new[] { SimulatedFleetFixture.AgentId(7) } },
            });
            var id = created.GetProperty("rollout_id").GetString()!;
            await using var stream = await SseClient.OpenAsync(Api, $"/rollouts/{id}/events");
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await stream.NextAsync(limit.Token) is { } next)
            {
                Assert.NotEqual("end", next.Name);
                if (next.Name != "target") continue;
                var target = JsonDocument.Parse(next.Data).RootElement;
                Assert.Equal("deploying", target.GetProperty("state").GetString());
                // Heard when the job was created, not when the 12 s deploy ended or at the stream's 15 s keep-alive.
                var lag = DateTimeOffset.UtcNow - target.GetProperty("started_at").GetDateTimeOffset();
                Assert.True(lag < TimeSpan.FromSeconds(6), $"the target's start was heard {lag.TotalSeconds:F1} s after it");
                break;
            }
            await fixture.WaitAsync(id, r => SimulatedFleetFixture.State(r) == "succeeded", "to succeed");
        }
        finally
        {
            fixture.Fleet.DeployTime = deployTime;
        }
    }
}

