using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace InstaDeploy.Bench.Scenarios;

/// <summary>
/// (7) Rollout: one rollout to N simulated agents with max_parallel M (full: 1,000 and 100), each agent taking a fixed
/// deploy time. The control plane's own time per target is the rollout's duration (its created_at to finished_at)
/// minus the agents' deploy time per batch, over the targets. Beside it, GET /rollouts/{id}/events is followed from
/// the start: every event must arrive, and how far a target's event trails the moment the target finished.
/// </summary>
internal static class RolloutScenarios
{
    private static readonly TimeSpan DeployTime = TimeSpan.FromMilliseconds(200);

    public static async Task RunAsync(BenchSettings settings, Results results)
    {
        var (agents, maxParallel) = (settings.Scale.RolloutAgents, settings.Scale.RolloutMaxParallel);
        const string s = "7 rollout";
        Console.WriteLine($"\n== rollout: {agents:N0} agents, max_parallel {maxParallel}, {DeployTime.TotalMilliseconds:0} ms per deploy on the agent");
        var port = BenchSettings.FreePort();
        var cp = await ControlPlaneProcess.StartAsync(settings, Path.Combine(settings.OutDir, "data-rollout"), port, "control-plane-rollout.log");
        try
        {
            await using var fleet = new AgentFleet(new IPEndPoint(IPAddress.Loopback, port), ControlPlaneProcess.AgentToken, "ro", dialConcurrency: 128) { AnswerDelay = DeployTime };
            await fleet.GrowToAsync(agents, TimeSpan.FromMinutes(3));
            using var api = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl);
            var json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
            var compose = Convert.ToBase64String(await File.ReadAllBytesAsync(settings.ComposeFile));
            // Connected sockets come before the agents' rows are stored; a rollout names only stored agents.
            var waitStored = Stopwatch.StartNew();
            while ((await api.GetFromJsonAsync<JsonElement>("/agents", json)).GetArrayLength() < agents)
            {
                if (waitStored.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException("the agents were not all stored in 2 minutes");
                await Task.Delay(200);
            }

            var clock = Stopwatch.StartNew();
            using var response = await api.PostAsJsonAsync("/rollouts", new
            {
                project_name = "bench-rollout", compose_file_base64 = compose,
                targets = new { agent_ids = Enumerable.Range(0, agents).Select(fleet.AgentId).ToArray() },
                strategy = new { max_parallel = maxParallel, health_wait_seconds = 0 },
            }, json);
            var created = await response.Content.ReadFromJsonAsync<JsonElement>(json);
            if (response.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException("POST /rollouts: " + created.GetRawText());
            var id = created.GetProperty("rollout_id").GetString()!;
            var follow = FollowAsync(api, id);

            JsonElement rollout;
            while (true)
            {
                rollout = await api.GetFromJsonAsync<JsonElement>($"/rollouts/{id}", json);
                if (rollout.GetProperty("state").GetString() is not ("pending" or "running")) break;
                if (clock.Elapsed > TimeSpan.FromMinutes(10)) throw new TimeoutException("the rollout did not finish in 10 minutes");
                await Task.Delay(100);
            }
            var (events, lags, endAfterMs) = await follow.WaitAsync(TimeSpan.FromMinutes(2));
            if (rollout.GetProperty("state").GetString() != "succeeded")
                results.Note($"the rollout ended {rollout.GetProperty("state").GetString()}: {rollout.GetProperty("reason").GetString()}");

            var total = rollout.GetProperty("finished_at").GetDateTimeOffset() - rollout.GetProperty("created_at").GetDateTimeOffset();
            var batches = (agents + maxParallel - 1) / maxParallel;
            var own = total - batches * DeployTime;
            results.Info(s, $"rollout duration, {agents:N0} targets in {batches} batches", total.TotalSeconds, "s", $"of which the agents' deploy time {batches * DeployTime.TotalSeconds:0.0} s");
            var perTarget = own.TotalMilliseconds / agents;
            if (settings.Scale.Name == "full") results.AtMost(s, "control plane's own time per target", perTarget, "ms", 1.0, "duration minus the agents' time per batch, over the targets");
            else results.Info(s, "control plane's own time per target", perTarget, "ms", "duration minus the agents' time per batch, over the targets");
            var expected = rollout.GetProperty("last_event_id").GetInt64();
            results.AtLeast(s, "events received of those stored", events * 100.0 / Math.Max(expected, 1), "%", 100, $"{events:N0} of {expected:N0}");
            results.Info(s, "event lag p50 (target finished -> its event read by the follower)", Stats.Median(lags), "ms");
            results.Info(s, "event lag p99", Stats.Percentile(lags, 99), "ms");
            results.Info(s, "end event after the last target finished", endAfterMs, "ms");
        }
        finally
        {
            await cp.DisposeAsync();
        }
    }

    /// <summary>Reads the event stream to its end: how many numbered events, each target's lag behind its finished_at,
    /// and when the end event came after the rollout's finished_at.</summary>
    private static async Task<(long Events, List<double> Lags, double EndAfterMs)> FollowAsync(HttpClient api, string id)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/rollouts/{id}/events");
        using var response = await api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        long events = 0;
        var lags = new List<double>();
        string? name = null;
        DateTimeOffset lastFinished = default;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal)) events++;
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && name == "target")
            {
                var now = DateTimeOffset.UtcNow;
                using var data = JsonDocument.Parse(line[6..]);
                if (data.RootElement.GetProperty("state").GetString() == "succeeded" && data.RootElement.GetProperty("finished_at").GetDateTimeOffset() is var finished)
                {
                    lags.Add((now - finished).TotalMilliseconds);
                    lastFinished = finished > lastFinished ? finished : lastFinished;
                }
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && name == "end")
                return (events, lags, (DateTimeOffset.UtcNow - lastFinished).TotalMilliseconds);
        }
        return (events, lags, double.NaN);
    }
}
