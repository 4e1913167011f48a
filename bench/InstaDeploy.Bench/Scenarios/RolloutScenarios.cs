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

            var agentIds = Enumerable.Range(0, agents).Select(fleet.AgentId).ToArray();
            // The first rollouts after the control plane starts run while its code is still being compiled and tiered up
            // (the JIT took a quarter of the CPU in the second one); a control plane that has run for a while deploys a
            // new version as the last of these does. The first is reported, the target is checked on the last.
            var batches = (agents + maxParallel - 1) / maxParallel;
            var source = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(compose));
            var earlier = new List<string>();
            var rounds = settings.Scale.Name == "full" ? 4 : 2;
            (JsonElement Rollout, TimeSpan Total, double Cpu, TimeSpan Wall, long Events, List<double> Lags, double EndAfterMs) last;
            for (var round = 1; ; round++)
            {
                var version = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(source + $"\n# version {round}\n"));
                last = await RollOutAsync(api, cp, json, version, agentIds, maxParallel);
                if (last.Rollout.GetProperty("state").GetString() != "succeeded")
                    results.Note($"rollout {round} ended {last.Rollout.GetProperty("state").GetString()}: {last.Rollout.GetProperty("reason").GetString()}");
                if (round == rounds) break;
                earlier.Add($"{(last.Total - batches * DeployTime).TotalMilliseconds / agents:0.0} ms own, {last.Cpu * 1000 / agents:0.0} ms CPU");
            }
            results.Info(s, "own time per target in the rollouts before (the first right after start)", rounds - 1, "rollouts", string.Join("; ", earlier));
            var (rollout, total, cpu, wall, events, lags, endAfterMs) = last;

            var own = total - batches * DeployTime;
            results.Info(s, $"rollout duration, {agents:N0} targets in {batches} batches (a new version, the last rollout)", total.TotalSeconds, "s", $"of which the agents' deploy time {batches * DeployTime.TotalSeconds:0.0} s");
            var perTarget = own.TotalMilliseconds / agents;
            if (settings.Scale.Name == "full") results.AtMost(s, "control plane's own time per target", perTarget, "ms", 1.0, "duration minus the agents' time per batch, over the targets");
            else results.Info(s, "control plane's own time per target", perTarget, "ms", "duration minus the agents' time per batch, over the targets");
            results.Info(s, "control plane's CPU per target", cpu * 1000 / agents, "ms", $"{cpu:0.0} s of CPU over the rollout ({cpu / wall.TotalSeconds * 100:0} % of one core)");
            Breakdown(results, s, rollout, total);
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

    /// <summary>One rollout to every agent, followed on its event stream from the start; the rollout is read once its
    /// end event has come (polling a 1,000-target rollout would load the machine it measures).</summary>
    private static async Task<(JsonElement Rollout, TimeSpan Total, double Cpu, TimeSpan Wall, long Events, List<double> Lags, double EndAfterMs)> RollOutAsync(
        HttpClient api, ControlPlaneProcess cp, JsonSerializerOptions json, string compose, string[] agentIds, int maxParallel)
    {
        var clock = Stopwatch.StartNew();
        var cpuBefore = cp.CpuSeconds;
        using var response = await api.PostAsJsonAsync("/rollouts", new
        {
            project_name = "bench-rollout", compose_file_base64 = compose,
            targets = new { agent_ids = agentIds },
            strategy = new { max_parallel = maxParallel, health_wait_seconds = 0 },
        }, json);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>(json);
        if (response.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException("POST /rollouts: " + created.GetRawText());
        var id = created.GetProperty("rollout_id").GetString()!;
        var (events, lags, endAfterMs) = await FollowAsync(api, id).WaitAsync(TimeSpan.FromMinutes(10));
        var cpu = cp.CpuSeconds - cpuBefore;
        var wall = clock.Elapsed;
        var rollout = await api.GetFromJsonAsync<JsonElement>($"/rollouts/{id}", json);
        if (rollout.GetProperty("state").GetString() is "pending" or "running") throw new InvalidOperationException($"the event stream of rollout {id} ended before the rollout");
        var total = rollout.GetProperty("finished_at").GetDateTimeOffset() - rollout.GetProperty("created_at").GetDateTimeOffset();
        return (rollout, total, cpu, wall, events, lags, endAfterMs);
    }

    /// <summary>Where the control plane's time goes, from the targets' own timestamps (the control plane's clock): per
    /// batch, the spread of its targets' starts (submitting the batch), each target's time beyond the agent's deploy time
    /// (dispatch, result, stored finish), and the gap from a batch's last finish to the next batch's first start (the
    /// engine's step), each summed over the batches.</summary>
    private static void Breakdown(Results results, string s, JsonElement rollout, TimeSpan total)
    {
        var targets = rollout.GetProperty("targets").EnumerateArray()
            .Where(t => t.GetProperty("started_at").ValueKind == JsonValueKind.String && t.GetProperty("finished_at").ValueKind == JsonValueKind.String)
            .Select(t => (Batch: t.GetProperty("batch").GetInt32(), Started: t.GetProperty("started_at").GetDateTimeOffset(), Finished: t.GetProperty("finished_at").GetDateTimeOffset()))
            .GroupBy(t => t.Batch).OrderBy(g => g.Key).Select(g => g.ToList()).ToList();
        if (targets.Count == 0) return;
        var created = rollout.GetProperty("created_at").GetDateTimeOffset();
        double spread = 0, beyond = 0, gaps = (targets[0].Min(t => t.Started) - created).TotalMilliseconds, tail = 0;
        var beyondAll = new List<double>();
        var spreads = new List<double>();
        for (var i = 0; i < targets.Count; i++)
        {
            var batch = targets[i];
            spreads.Add((batch.Max(t => t.Started) - batch.Min(t => t.Started)).TotalMilliseconds);
            spread += spreads[^1];
            var extra = batch.Select(t => (t.Finished - t.Started - DeployTime).TotalMilliseconds).ToList();
            beyondAll.AddRange(extra);
            // The batch's end comes from its last target: what that one took beyond the agent's time, after its start.
            var last = batch.MaxBy(t => t.Finished);
            beyond += (last.Finished - last.Started - DeployTime).TotalMilliseconds;
            if (i + 1 < targets.Count) gaps += (targets[i + 1].Min(t => t.Started) - batch.Max(t => t.Finished)).TotalMilliseconds;
            else tail = ((rollout.GetProperty("finished_at").GetDateTimeOffset()) - batch.Max(t => t.Finished)).TotalMilliseconds;
        }
        results.Info(s, "own time: submitting each batch (its targets' starts spread), summed", spread, "ms", $"{spread / total.TotalMilliseconds * 100:0} % of the duration; by batch {string.Join(", ", spreads.Select(x => x.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))} ms");
        results.Info(s, "own time: each batch's last target beyond the agent's time, summed", beyond, "ms", $"median target {Stats.Median(beyondAll):0.0} ms, p99 {Stats.Percentile(beyondAll, 99):0.0} ms beyond the agent's {DeployTime.TotalMilliseconds:0} ms");
        results.Info(s, "own time: from a batch's last finish to the next batch's first start, summed", gaps, "ms", $"and {tail:0} ms from the last finish to the rollout's end");
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
