using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InstaDeploy.EndToEnd.Tests.Reliability;

namespace InstaDeploy.EndToEnd.Tests.Cluster;

/// <summary>
/// Issue 15's tests: three control-plane processes, a real PostgreSQL and a real HAProxy in front, real agents dialing
/// HAProxy and deploying on the real Docker engine. One started cluster is shared by the class (starting it costs most of
/// the time); each test finds where the agents are now, since the one before may have moved them.
/// </summary>
[Collection(nameof(ClusterCollection))]
public sealed class ThreeInstancesTests(ClusterFixture cluster)
{
    /// <summary>A deploy that prints progress for a few seconds (compose waits for "slow" to be healthy), with no network.</summary>
    private const string SlowCompose = """
        services:
          slow:
            image: local/busybox:1
            command: ["sh", "-c", "sleep 3 && touch /tmp/ready && sleep 86400"]
            init: true
            network_mode: none
            healthcheck:
              test: ["CMD", "test", "-f", "/tmp/ready"]
              interval: 1s
              retries: 30
          web:
            image: local/busybox:1
            command: ["sleep", "86400"]
            init: true
            network_mode: none
            depends_on:
              slow:
                condition: service_healthy
        """;

    private string Project(string name)
    {
        var project = E2E.Project(name);
        lock (cluster.Projects) cluster.Projects.Add(project);
        return project;
    }

    [Fact]
    public async Task EveryInstanceAnswersWithTheLatestMetricsOfAnAgentConnectedToAnother()
    {
        var agentId = ClusterFixture.AgentIds[1];
        var holder = cluster.HolderOf(agentId) ?? throw new Xunit.Sdk.XunitException($"no instance holds {agentId}");
        var other = cluster.Instances.Keys.Where(n => n != holder && !cluster.Instances[n].HasExited).Order().First();
        using var api = cluster.InstanceApi(other);
        JsonElement first = default;
        await Eventually.TrueAsync(async () =>
        {
            using var response = await api.GetAsync($"/agents/{agentId}/metrics");
            if (response.StatusCode == HttpStatusCode.NotFound) return false;
            first = await response.ReadJsonAsync();
            return true;
        }, TimeSpan.FromSeconds(60), $"instance {other} to answer with the metrics {agentId} sends to {holder}");
        Assert.Equal(Environment.ProcessorCount, first.GetProperty("metrics").GetProperty("cpu_count").GetInt32());
        Assert.True(first.GetProperty("metrics").GetProperty("memory_total_bytes").GetInt64() > 0);
        // The next sample (every 10 s by default) replaces it there too.
        var at = first.GetProperty("received_at").GetDateTimeOffset();
        await Eventually.TrueAsync(async () => (await api.GetJsonAsync($"/agents/{agentId}/metrics")).GetProperty("received_at").GetDateTimeOffset() > at,
            TimeSpan.FromSeconds(40), $"a newer sample on {other}");
        Assert.NotEqual(other, cluster.HolderOf(agentId)); // all along an agent of another instance
    }

    [Fact]
    public async Task ARestCallOnOneInstanceReachesTheAgentOnAnotherAndAFollowerOnAThirdSeesItsLinesLive()
    {
        var agentId = ClusterFixture.AgentIds[0];
        var holder = cluster.HolderOf(agentId) ?? throw new Xunit.Sdk.XunitException($"no instance holds {agentId}");
        var others = cluster.Instances.Keys.Where(n => n != holder && !cluster.Instances[n].HasExited).Order().ToArray();
        Assert.True(others.Length >= 2, $"two instances besides {holder} should be up");
        using var rest = cluster.InstanceApi(others[0]);
        using var follower = cluster.InstanceApi(others[1]);

        var project = Project("cluster-live");
        var jobId = await rest.DeployAsync(project, agentId, SlowCompose, new { health_wait_seconds = 60 });
        await using var follow = await SseClient.OpenAsync(follower, $"/jobs/{jobId}/logs?follow=true");
        var lines = new List<string>();
        var liveLines = 0;
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (await follow.NextAsync(limit.Token) is { } next)
        {
            if (next.Name == "end")
            {
                Assert.Equal("COMPLETED", JsonDocument.Parse(next.Data).RootElement.GetProperty("status").GetString());
                break;
            }
            Assert.Equal("log", next.Name);
            // Lines that arrive while the job still runs came live from the holder, through the store and NOTIFY.
            if (liveLines == 0 && await follower.StatusOfJobAsync(jobId) == "RUNNING") liveLines = next.Lines.Length;
            lines.AddRange(next.Lines);
        }
        Assert.True(liveLines > 0, $"the follower on {others[1]} got no line while the job ran on {holder}'s agent");
        // Every line once, in order: what the follower saw is the job's record.
        var job = await rest.GetJsonAsync($"/jobs/{jobId}");
        Assert.Equal(job.GetProperty("logs").GetString(), string.Concat(lines.Select(l => l + "\n")));
        Assert.Contains("Deployment successful (revision 1)", job.GetProperty("logs").GetString());
        Assert.Equal(1, cluster.Agents[agentId].TimesRun(jobId));
    }

    [Fact]
    public async Task ARolloutStartedOnOneInstanceIsFollowedLiveOnAnother()
    {
        foreach (var agentId in ClusterFixture.AgentIds) await cluster.Api.WaitForAgentOnlineAsync(agentId, TimeSpan.FromSeconds(60));
        var up = cluster.Instances.Keys.Where(n => !cluster.Instances[n].HasExited).Order().ToArray();
        Assert.True(up.Length >= 2, "two instances should be up");
        using var rest = cluster.InstanceApi(up[0]);      // takes the request and drives the rollout
        using var follower = cluster.InstanceApi(up[1]);  // hears of each change only through the store and NOTIFY
        var role = "cluster-ro-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
        foreach (var agentId in ClusterFixture.AgentIds)
        {
            using var labelled = await rest.PutAsJsonAsync($"/agents/{agentId}/labels", new { labels = new Dictionary<string, string> { ["role"] = role } });
            Assert.True(labelled.IsSuccessStatusCode, await labelled.Content.ReadAsStringAsync());
        }
        try
        {
            // One agent at a time, 5 s between them: four changes spread over several seconds.
            var compose = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(SlowCompose));
            using var created = await rest.PostJsonAsync("/rollouts", new
            {
                project_name = Project("cluster-rollout"),
                compose_file_base64 = compose,
                targets = new { selector = $"role={role}" },
                strategy = new { max_parallel = 1, batch_wait_seconds = 5, health_wait_seconds = 60 },
            });
            var body = await created.ReadJsonAsync();
            Assert.True(created.StatusCode == HttpStatusCode.Created, body.GetRawText());
            var rolloutId = body.GetProperty("rollout_id").GetString()!;

            await using var events = await SseClient.OpenAsync(follower, $"/rollouts/{rolloutId}/events");
            var seen = new List<SseEvent>();
            var lags = new Dictionary<string, TimeSpan>(StringComparer.Ordinal); // first arrival of each (target, state)
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(180));
            while (await events.NextAsync(limit.Token) is { } next)
            {
                var arrived = DateTimeOffset.UtcNow;
                seen.Add(next);
                if (next.Name == "end") break;
                if (next.Name != "target") continue;
                // How long after the change on the driving instance this one's follower heard of it: live (a NOTIFY),
                // not at the stream's next 15 s keep-alive.
                var target = JsonDocument.Parse(next.Data).RootElement;
                var state = target.GetProperty("state").GetString();
                var at = state == "deploying" ? target.GetProperty("started_at") : target.GetProperty("finished_at");
                if (at.ValueKind == JsonValueKind.String) lags.TryAdd($"{target.GetProperty("agent_id").GetString()} {state}", arrived - at.GetDateTimeOffset());
            }
            Assert.Equal("end", seen[^1].Name);
            Assert.Contains("\"succeeded\"", seen[^1].Data, StringComparison.Ordinal);
            Assert.Equal(ClusterFixture.AgentIds.SelectMany(a => new[] { $"{a} deploying", $"{a} succeeded" }).Order(), lags.Keys.Order());
            Assert.True(lags.Values.All(lag => lag < TimeSpan.FromSeconds(5)),
                $"the follower on {up[1]} heard late of changes made on {up[0]}: " + string.Join(", ", lags.Select(l => $"{l.Key} after {l.Value.TotalSeconds:F1} s")));
            // Every stored event once, in order.
            var ids = seen.Where(e => e.Name != "end").Select(e => long.Parse(e.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(Enumerable.Range(1, ids.Length).Select(i => (long)i), ids);
            var final = await rest.GetJsonAsync($"/rollouts/{rolloutId}");
            Assert.Equal(final.GetProperty("last_event_id").GetInt64(), ids[^1]);
        }
        finally
        {
            foreach (var agentId in ClusterFixture.AgentIds) (await rest.DeleteAsync($"/agents/{agentId}/labels")).Dispose();
        }
    }

    [Fact]
    public async Task KillingTheInstanceThatHoldsTheAgentsWithTwentyDeploysInFlightCompletesEachJobOnceAndTheAgentsComeBack()
    {
        var holder = cluster.HolderOf(ClusterFixture.AgentIds[0]) ?? throw new Xunit.Sdk.XunitException("no instance holds the agent");
        var jobs = new List<(string JobId, string AgentId)>();
        for (var i = 0; i < 20; i++)
        {
            var agentId = ClusterFixture.AgentIds[i % 2];
            jobs.Add((await cluster.Api.DeployAsync(Project($"cluster-kill{i}"), agentId, ReliabilityApi.QuickCompose()), agentId));
        }
        var moved = ClusterFixture.AgentIds.Where(a => cluster.HolderOf(a) == holder).ToArray();
        cluster.Instances[holder].Kill();
        await cluster.Instances[holder].WaitForExitAsync();
        var killedAt = System.Diagnostics.Stopwatch.StartNew();

        // Back through HAProxy on an instance that lives, within the agent's backoff (1 s, 2 s, 4 s, 8 s, ...).
        foreach (var agentId in moved)
            await Eventually.TrueAsync(() => cluster.HolderOf(agentId) is { } now && now != holder, TimeSpan.FromSeconds(30), $"{agentId} to reconnect through HAProxy");
        var back = killedAt.Elapsed;
        var restart = cluster.StartInstanceAsync(holder); // it comes back too (an upgrade's restart), while the jobs finish

        foreach (var (jobId, _) in jobs)
        {
            var job = await cluster.Api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(180));
            Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
        }
        foreach (var (jobId, agentId) in jobs)
            Assert.True(cluster.Agents[agentId].TimesRun(jobId) == 1, $"{agentId} ran {jobId} {cluster.Agents[agentId].TimesRun(jobId)} times");
        Assert.True(back < TimeSpan.FromSeconds(30), $"the agents took {back.TotalSeconds:F0} s to come back");
        await restart;
    }

    [Fact]
    public async Task WhilePostgreSqlIsDownTheApiAnswers503SayingSoAndAfterwardsEveryAcceptedJobFinishes()
    {
        var jobs = new List<(string JobId, string AgentId)>();
        for (var i = 0; i < 4; i++)
        {
            var agentId = ClusterFixture.AgentIds[i % 2];
            jobs.Add((await cluster.Api.DeployAsync(Project($"cluster-pg{i}"), agentId, ReliabilityApi.QuickCompose()), agentId));
        }
        await cluster.Postgres.StopAsync();
        try
        {
            // Through HAProxy, whichever instance answers: the control plane's own 503, with what happened.
            for (var i = 0; i < 3; i++)
            {
                using var response = await cluster.Api.GetAsync($"/jobs/{jobs[i].JobId}");
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode} {text}");
                var problem = JsonDocument.Parse(text).RootElement;
                Assert.Equal("The database is unreachable", problem.GetProperty("title").GetString());
                Assert.Contains("database server", problem.GetProperty("detail").GetString());
                Assert.True(response.Headers.RetryAfter is not null, "a Retry-After header");
            }
            await Task.Delay(TimeSpan.FromSeconds(3)); // past HAProxy's checks: every instance is out of /health now
            using (var late = await cluster.Api.GetAsync("/jobs"))
            {
                var text = await late.Content.ReadAsStringAsync();
                Assert.True(late.StatusCode == HttpStatusCode.ServiceUnavailable && text.Contains("The database is unreachable", StringComparison.Ordinal), $"{(int)late.StatusCode} {text}");
            }
        }
        finally
        {
            await cluster.Postgres.StartAgainAsync();
        }

        foreach (var (jobId, _) in jobs)
        {
            var job = await cluster.Api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(120));
            Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
        }
        foreach (var (jobId, agentId) in jobs) Assert.Equal(1, cluster.Agents[agentId].TimesRun(jobId));
    }
}

[CollectionDefinition(nameof(ClusterCollection))]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>;
