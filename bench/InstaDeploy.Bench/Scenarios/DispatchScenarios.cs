using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace InstaDeploy.Bench.Scenarios;

/// <summary>
/// (1) Dispatch latency: REST POST sent -> command received by the agent, one request at a time, at 1,000 connected
/// agents. (2) End-to-end throughput: many clients each POST a command and wait for its result to be persisted (the
/// control plane's ACK, which it sends only after the result is stored), as fast as the control plane takes them.
/// The command is HEALTH_CHECK through <c>POST /agents/{id}/health</c>: the cheapest real command, so the figures are
/// the control plane's own cost (authentication, rate limiting, job row, claim, send, result, ACK).
/// </summary>
internal static class DispatchScenarios
{
    /// <summary>What one server measured (NaN where that part did not run).</summary>
    private sealed record Figures(double DispatchP50, double DispatchP99, double PersistedP50, double JobsPerSecond);

    public static async Task RunAsync(BenchSettings settings, Results results)
    {
        var measured = new Dictionary<string, Figures>(StringComparer.Ordinal);
        foreach (var (label, dll) in settings.ControlPlanes(floor: true)) measured[label] = await RunAsync(settings, results, label, dll);

        // Each figure beside its floor: the same driver against a bare Kestrel app doing only the transport and the
        // durable writes (Floors/FloorServer). The ratio is the control plane's own cost, whatever the machine's disk.
        var floor = measured[BenchSettings.FloorLabel];
        foreach (var (label, figures) in measured.Where(m => m.Key != BenchSettings.FloorLabel))
        {
            var suffix = label == "this build" ? "" : $" ({label})";
            results.Ratio("1 dispatch latency" + suffix, "POST -> command at the agent, p50", figures.DispatchP50, floor.DispatchP50, "ms");
            results.Ratio("1 dispatch latency" + suffix, "POST -> command at the agent, p99", figures.DispatchP99, floor.DispatchP99, "ms");
            results.Ratio("1 dispatch latency" + suffix, "POST -> result persisted, p50", figures.PersistedP50, floor.PersistedP50, "ms");
            results.Ratio("2 throughput" + suffix, "jobs/s end to end (result persisted)", figures.JobsPerSecond, floor.JobsPerSecond, "jobs/s");
        }
    }

    private static async Task<Figures> RunAsync(BenchSettings settings, Results results, string label, string dll)
    {
        var scale = settings.Scale;
        var suffix = label == "this build" ? "" : $" ({label})";
        Console.WriteLine($"\n== dispatch latency and throughput: {scale.DispatchAgents} agents{suffix}");
        var port = BenchSettings.FreePort();
        var slug = suffix.Length == 0 ? "" : "-" + label.Replace(' ', '-');
        await using var cp = await ControlPlaneProcess.StartAsync(settings, Path.Combine(settings.OutDir, "data-dispatch" + slug), port, $"control-plane-dispatch{slug}.log", controlPlaneDll: dll);
        await using var fleet = new AgentFleet(new IPEndPoint(IPAddress.Loopback, port), ControlPlaneProcess.AgentToken, "sim", dialConcurrency: 256);
        await fleet.GrowToAsync(scale.DispatchAgents, TimeSpan.FromMinutes(2));
        fleet.RecordJobs = true;
        await Task.Delay(TimeSpan.FromSeconds(2)); // the connection burst's database writes settle

        var (p50, p99, persisted) = settings.Runs("dispatch") ? await DispatchLatencyAsync(settings, cp, fleet, results, suffix, label == BenchSettings.FloorLabel) : (double.NaN, double.NaN, double.NaN);
        var jobsPerSecond = settings.Runs("throughput") ? await ThroughputAsync(settings, cp, fleet, results, suffix, label == BenchSettings.FloorLabel) : double.NaN;
        return new Figures(p50, p99, persisted, jobsPerSecond);
    }

    private static async Task<(double P50, double P99, double PersistedP50)> DispatchLatencyAsync(BenchSettings settings, ControlPlaneProcess cp, AgentFleet fleet, Results results, string suffix, bool floor)
    {
        var scale = settings.Scale;
        using var api = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl, connections: 1);
        var dispatch = new List<double>();
        var accepted = new List<double>();
        var persisted = new List<double>();
        for (var i = 0; i < scale.DispatchWarmup + scale.DispatchSamples; i++)
        {
            var agentId = fleet.AgentId(i % scale.DispatchAgents);
            var sent = Stopwatch.GetTimestamp();
            var jobId = await PostHealthAsync(api, agentId);
            var answered = Stopwatch.GetTimestamp();
            var received = await fleet.CommandReceived(jobId).WaitAsync(TimeSpan.FromSeconds(30));
            // Wait for the result to be stored before the next request, so each sample is one job alone on the
            // control plane: this is latency, not queueing (throughput is measured next).
            var acked = await fleet.Acknowledged(jobId).WaitAsync(TimeSpan.FromSeconds(30));
            fleet.Forget(jobId);
            if (i < scale.DispatchWarmup) continue;
            dispatch.Add(Stats.TicksToMs(received - sent));
            accepted.Add(Stats.TicksToMs(answered - sent));
            persisted.Add(Stats.TicksToMs(acked - sent));
        }
        var s = "1 dispatch latency" + suffix;
        var note = $"{dispatch.Count} sequential requests, {scale.DispatchAgents} agents connected";
        if (floor)
        {
            results.Info(s, "POST -> command at the agent, p50", Stats.Percentile(dispatch, 50), "ms", note);
            results.Info(s, "POST -> command at the agent, p99", Stats.Percentile(dispatch, 99), "ms");
        }
        else
        {
            results.AtMost(s, "POST -> command at the agent, p50", Stats.Percentile(dispatch, 50), "ms", 1, note);
            results.AtMost(s, "POST -> command at the agent, p99", Stats.Percentile(dispatch, 99), "ms", 5);
        }
        results.Info(s, "POST -> command at the agent, max", dispatch.Max(), "ms");
        results.Info(s, "POST -> 202 answer, p50", Stats.Percentile(accepted, 50), "ms");
        results.Info(s, "POST -> result persisted (ACK at the agent), p50", Stats.Percentile(persisted, 50), "ms");
        results.Info(s, "POST -> result persisted (ACK at the agent), p99", Stats.Percentile(persisted, 99), "ms");
        return (Stats.Percentile(dispatch, 50), Stats.Percentile(dispatch, 99), Stats.Percentile(persisted, 50));
    }

    private static async Task<double> ThroughputAsync(BenchSettings settings, ControlPlaneProcess cp, AgentFleet fleet, Results results, string suffix, bool floor)
    {
        var scale = settings.Scale;
        using var api = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl, connections: scale.ThroughputConcurrency);
        var warmup = TimeSpan.FromSeconds(scale.ThroughputWarmupSeconds);
        var window = TimeSpan.FromSeconds(scale.ThroughputSeconds);
        var start = Stopwatch.GetTimestamp();
        var windowStart = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var windowEnd = windowStart + (long)(window.TotalSeconds * Stopwatch.Frequency);
        double cpuAtStart = 0, cpuAtEnd = 0;
        var selfCpu = Process.GetCurrentProcess();
        TimeSpan selfAtStart = TimeSpan.Zero, selfAtEnd = TimeSpan.Zero;
        var cpuSampler = Task.Run(async () =>
        {
            await Task.Delay(warmup);
            cpuAtStart = cp.CpuSeconds;
            selfCpu.Refresh();
            selfAtStart = selfCpu.TotalProcessorTime;
            await Task.Delay(window);
            cpuAtEnd = cp.CpuSeconds;
            selfCpu.Refresh();
            selfAtEnd = selfCpu.TotalProcessorTime;
        });

        var errors = 0;
        var workers = Enumerable.Range(0, scale.ThroughputConcurrency).Select(worker => Task.Run(async () =>
        {
            var latencies = new List<double>();
            var random = new Random(worker);
            while (Stopwatch.GetTimestamp() < windowEnd)
            {
                var agentId = fleet.AgentId(random.Next(scale.DispatchAgents));
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    var jobId = await PostHealthAsync(api, agentId);
                    var acked = await fleet.Acknowledged(jobId).WaitAsync(TimeSpan.FromSeconds(30));
                    fleet.Forget(jobId);
                    if (acked >= windowStart && acked < windowEnd) latencies.Add(Stats.TicksToMs(acked - sent));
                }
                catch (Exception e) when (e is HttpRequestException or TimeoutException or InvalidOperationException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
            return latencies;
        })).ToArray();
        var all = (await Task.WhenAll(workers)).SelectMany(l => l).ToList();
        await cpuSampler;

        var s = "2 throughput" + suffix;
        var jobsPerSecond = all.Count / window.TotalSeconds;
        var note = $"{scale.ThroughputConcurrency} concurrent clients, {window.TotalSeconds:0} s window, {errors} errors";
        if (floor) results.Info(s, "jobs/s end to end (result persisted)", jobsPerSecond, "jobs/s", note);
        else results.AtLeast(s, "jobs/s end to end (result persisted)", jobsPerSecond, "jobs/s", 3000, note);
        results.Info(s, "job latency under that load, p50", Stats.Percentile(all, 50), "ms");
        results.Info(s, "job latency under that load, p99", Stats.Percentile(all, 99), "ms");
        results.Info(s, "control-plane CPU during the window", (cpuAtEnd - cpuAtStart) / window.TotalSeconds * 100, "% of one core");
        results.Info(s, "bench process CPU (clients + 1,000 agents) during the window", (selfAtEnd - selfAtStart).TotalSeconds / window.TotalSeconds * 100, "% of one core");

        // The ACK says the result is stored; check a few jobs over REST as well (the floor has no such endpoint).
        if (floor) return jobsPerSecond;
        using var check = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl);
        var recent = await check.GetFromJsonAsync<JsonElement>("/jobs?status=COMPLETED&limit=5");
        if (recent.GetArrayLength() < 5) throw new InvalidOperationException("GET /jobs does not show the completed jobs");
        return jobsPerSecond;
    }

    private static async Task<string> PostHealthAsync(HttpClient api, string agentId)
    {
        using var response = await api.PostAsync($"/agents/{agentId}/health", null);
        if (response.StatusCode != HttpStatusCode.Accepted)
            throw new InvalidOperationException($"POST /agents/{agentId}/health answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("job_id").GetString()!;
    }
}
