using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InstaDeploy.Testing;

namespace InstaDeploy.Bench.Scenarios;

/// <summary>
/// Several instances (issue 15, "Speed"), side by side in one run: 1 instance on SQLite, 1 on PostgreSQL, 3 on one
/// PostgreSQL. Each gets the same 1,000 simulated agents (spread round-robin over the instances) and the same
/// HEALTH_CHECK load as the dispatch scenarios; with 3 instances every latency sample is posted to an instance that
/// does not hold the agent (so it crosses LISTEN/NOTIFY), and throughput's clients spread their calls round-robin.
/// Then N idle agents over the 3 instances, one instance killed with SIGKILL, and the time until all are online again.
/// Opt-in (<c>--only cluster</c>): it needs PostgreSQL's binaries and tens of thousands of sockets.
/// </summary>
internal static class ClusterScenarios
{
    public static async Task RunAsync(BenchSettings settings, Results results)
    {
        await using var postgres = await PostgresServer.StartAsync(durable: true);
        Console.WriteLine($"\n== several instances: PostgreSQL of the bench's own on port {postgres.Port}");
        await MeasureAsync(settings, results, "1 instance, SQLite", 1, null, 0);
        await MeasureAsync(settings, results, "1 instance, PostgreSQL", 1, postgres, 1);
        await MeasureAsync(settings, results, "3 instances, PostgreSQL", 3, postgres, 2);
        await IdleAndKillAsync(settings, results, postgres);
    }

    /// <summary>Only the idle agents and the kill (<c>--only cluster-idle</c>).</summary>
    public static async Task RunIdleOnlyAsync(BenchSettings settings, Results results)
    {
        await using var postgres = await PostgresServer.StartAsync(durable: true);
        await IdleAndKillAsync(settings, results, postgres);
    }

    private static async Task<List<ControlPlaneProcess>> StartInstancesAsync(BenchSettings settings, string slug, int count, PostgresServer? postgres, string database)
    {
        var root = Path.Combine(settings.OutDir, "data-cluster-" + slug);
        Task<ControlPlaneProcess> Start(int i)
        {
            var environment = new Dictionary<string, string>(StringComparer.Ordinal);
            if (postgres is not null)
            {
                environment["INSTADEPLOY_POSTGRES"] = postgres.ConnectionString.Replace("Database=postgres", "Database=" + database, StringComparison.Ordinal) + ";Maximum Pool Size=60";
                environment["INSTADEPLOY_INSTANCE_ID"] = $"{slug}-{i}";
                environment["INSTADEPLOY_KEY_RING_DIR"] = Path.Combine(root, "key-ring"); // one key ring for all (docs/SCALING.md)
            }
            return ControlPlaneProcess.StartAsync(settings, Path.Combine(root, $"instance-{i}"), BenchSettings.FreePort(), $"control-plane-cluster-{slug}-{i}.log", environment);
        }
        // The first one migrates the database; the others then start on a migrated schema.
        var first = await Start(0);
        var rest = await Task.WhenAll(Enumerable.Range(1, count - 1).Select(Start));
        return [first, .. rest];
    }

    private static async Task MeasureAsync(BenchSettings settings, Results results, string label, int count, PostgresServer? postgres, int run)
    {
        var scale = settings.Scale;
        Console.WriteLine($"\n== {label}: {scale.DispatchAgents} agents");
        var database = $"bench{run}";
        if (postgres is not null) await CreateDatabaseAsync(postgres, database);
        var instances = await StartInstancesAsync(settings, $"run{run}", count, postgres, database);
        try
        {
            var endpoints = instances.Select(i => new IPEndPoint(IPAddress.Loopback, i.Port)).ToArray();
            await using var fleet = new AgentFleet(endpoints, ControlPlaneProcess.AgentToken, "sim", dialConcurrency: 256);
            await fleet.GrowToAsync(scale.DispatchAgents, TimeSpan.FromMinutes(3));
            fleet.RecordJobs = true;
            await Task.Delay(TimeSpan.FromSeconds(3)); // the connection burst's database writes settle

            var s = "C " + label;
            var apis = instances.Select(i => ControlPlaneProcess.CreateApiClient(settings, i.BaseUrl, connections: scale.ThroughputConcurrency)).ToArray();
            try
            {
                // A fresh instance spends its first minutes under load tiering its code up: with three instances on two
                // cores, the JIT still took three quarters of their CPU 45 s in, and settled (about 40,000 methods each)
                // after two minutes. Load them that long (full scale) before measuring, so the figures are the steady state.
                var warmup = TimeSpan.FromSeconds(scale.ClusterWarmupSeconds);
                var warmEnd = Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
                var (_, warmErrors) = await LoadAsync(fleet, apis, scale.ThroughputConcurrency, scale.DispatchAgents, warmEnd, warmEnd, warmEnd);
                Console.WriteLine($"  warmed up with {warmup.TotalSeconds:0} s of load ({warmErrors} errors)");
                await LatencyAsync(settings, fleet, apis, results, s, count);
                await ThroughputAsync(settings, instances, fleet, apis, results, s);
            }
            finally
            {
                foreach (var api in apis) api.Dispose();
            }
        }
        finally
        {
            foreach (var instance in instances) await instance.DisposeAsync();
        }
    }

    private static async Task LatencyAsync(BenchSettings settings, AgentFleet fleet, HttpClient[] apis, Results results, string s, int count)
    {
        var scale = settings.Scale;
        var dispatch = new List<double>();
        var persisted = new List<double>();
        var crossed = 0;
        for (var i = 0; i < scale.DispatchWarmup + scale.DispatchSamples; i++)
        {
            var index = i % scale.DispatchAgents;
            // The REST call goes to an instance that does not hold the agent (with one instance, to that one).
            var holder = Math.Max(0, fleet.ServerOf(index));
            var api = apis[(holder + 1) % count];
            var sent = Stopwatch.GetTimestamp();
            var jobId = await PostHealthAsync(api, fleet.AgentId(index));
            var received = await fleet.CommandReceived(jobId).WaitAsync(TimeSpan.FromSeconds(30));
            var acked = await fleet.Acknowledged(jobId).WaitAsync(TimeSpan.FromSeconds(30));
            fleet.Forget(jobId);
            if (i < scale.DispatchWarmup) continue;
            if (count > 1 && fleet.ServerOf(index) != holder) continue; // it moved meanwhile: not a clean cross-instance sample
            crossed++;
            dispatch.Add(Stats.TicksToMs(received - sent));
            persisted.Add(Stats.TicksToMs(acked - sent));
        }
        var where = count > 1 ? "REST call on another instance than the agent's" : "one instance";
        results.AtMost(s, "POST -> command at the agent, p50", Stats.Percentile(dispatch, 50), "ms", 2, $"{crossed} sequential requests, {where}, after {scale.ClusterWarmupSeconds} s of load");
        results.Info(s, "POST -> command at the agent, p99", Stats.Percentile(dispatch, 99), "ms");
        results.Info(s, "POST -> result persisted (ACK at the agent), p50", Stats.Percentile(persisted, 50), "ms");
    }

    private static async Task ThroughputAsync(BenchSettings settings, List<ControlPlaneProcess> instances, AgentFleet fleet, HttpClient[] apis, Results results, string s)
    {
        var scale = settings.Scale;
        var warmup = TimeSpan.FromSeconds(scale.ThroughputWarmupSeconds);
        var window = TimeSpan.FromSeconds(scale.ThroughputSeconds);
        var windowStart = Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var windowEnd = windowStart + (long)(window.TotalSeconds * Stopwatch.Frequency);
        double cpuAtStart = 0, cpuAtEnd = 0;
        var cpuSampler = Task.Run(async () =>
        {
            await Task.Delay(warmup);
            cpuAtStart = instances.Sum(i => i.CpuSeconds);
            await Task.Delay(window);
            cpuAtEnd = instances.Sum(i => i.CpuSeconds);
        });
        var (all, errors) = await LoadAsync(fleet, apis, scale.ThroughputConcurrency, scale.DispatchAgents, windowEnd, windowStart, windowEnd);
        await cpuSampler;
        results.Info(s, "jobs/s end to end (result persisted)", all.Count / window.TotalSeconds, "jobs/s",
            $"{scale.ThroughputConcurrency} concurrent clients, {window.TotalSeconds:0} s window, {errors} errors");
        results.Info(s, "job latency under that load, p50", Stats.Percentile(all, 50), "ms");
        results.Info(s, "job latency under that load, p99", Stats.Percentile(all, 99), "ms");
        results.Info(s, "control-plane CPU during the window (all instances)", (cpuAtEnd - cpuAtStart) / window.TotalSeconds * 100, "% of one core");

        // The ACK says the result is stored; check over REST that the store shows them (on another instance).
        var recent = await apis[^1].GetFromJsonAsync<JsonElement>("/jobs?status=COMPLETED&limit=5");
        if (recent.GetArrayLength() < 5) throw new InvalidOperationException("GET /jobs does not show the completed jobs");
    }

    /// <summary>HEALTH_CHECKs to random agents from <paramref name="concurrency"/> clients, spread round-robin over the
    /// instances, until <paramref name="until"/>; returns the latencies (POST to ACK at the agent) of the jobs acknowledged
    /// within [<paramref name="recordFrom"/>, <paramref name="recordTo"/>), and how many requests failed.</summary>
    private static async Task<(List<double> Latencies, int Errors)> LoadAsync(
        AgentFleet fleet, HttpClient[] apis, int concurrency, int agents, long until, long recordFrom, long recordTo)
    {
        var errors = 0;
        var next = 0;
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var latencies = new List<double>();
            var random = new Random(worker);
            while (Stopwatch.GetTimestamp() < until)
            {
                var api = apis[(Interlocked.Increment(ref next) & int.MaxValue) % apis.Length]; // round-robin
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    var jobId = await PostHealthAsync(api, fleet.AgentId(random.Next(agents)));
                    var acked = await fleet.Acknowledged(jobId).WaitAsync(TimeSpan.FromSeconds(30));
                    fleet.Forget(jobId);
                    if (acked >= recordFrom && acked < recordTo) latencies.Add(Stats.TicksToMs(acked - sent));
                }
                catch (Exception e) when (e is HttpRequestException or TimeoutException or InvalidOperationException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
            return latencies;
        })).ToArray();
        var all = (await Task.WhenAll(workers)).SelectMany(l => l).ToList();
        return (all, errors);
    }

    private static async Task IdleAndKillAsync(BenchSettings settings, Results results, PostgresServer postgres)
    {
        var size = settings.ClusterIdleAgents;
        Console.WriteLine($"\n== {size:N0} idle agents over 3 instances, then kill -9 of one");
        await CreateDatabaseAsync(postgres, "benchidle");
        var instances = await StartInstancesAsync(settings, "idle", 3, postgres, "benchidle");
        try
        {
            var endpoints = instances.Select(i => new IPEndPoint(IPAddress.Loopback, i.Port)).ToArray();
            // Over child processes: one process may hold at most 20,000 open files here, fewer than a large fleet's sockets.
            await using var fleet = IdleFleetWorkers.Start(endpoints, ControlPlaneProcess.AgentToken, "idle", size, dialConcurrency: 256);
            var grow = Stopwatch.StartNew();
            try
            {
                await fleet.WaitConnectedAsync(size, TimeSpan.FromMinutes(8));
            }
            catch (TimeoutException e)
            {
                results.Note($"{size:N0} idle agents did not all connect: {e.Message}");
                throw;
            }
            var connectSeconds = grow.Elapsed.TotalSeconds;
            using var api = ControlPlaneProcess.CreateApiClient(settings, instances[1].BaseUrl);
            await WaitOnlineAsync(api, size, TimeSpan.FromMinutes(3));
            const string s = "C idle agents over 3 instances";
            results.Info(s, $"time to connect {size:N0} idle agents (256 dials at a time, {(size + IdleFleetWorkers.AgentsPerWorker - 1) / IdleFleetWorkers.AgentsPerWorker} simulator processes)", connectSeconds, "s");
            results.Info(s, $"all {size:N0} online in GET /agents", grow.Elapsed.TotalSeconds, "s");
            for (var i = 0; i < instances.Count; i++)
                results.Info(s, $"instance {i} RSS with about {size / 3:N0} agents", ProcessStats.Mib(instances[i].RssBytes), "MiB");

            var held = fleet.OnFirstServer;
            var connectsBefore = fleet.Connects;
            var killed = Stopwatch.StartNew();
            await instances[0].KillAsync();
            while (fleet.Connects - connectsBefore < held || fleet.Connected < size)
            {
                if (killed.Elapsed > TimeSpan.FromMinutes(3)) throw new TimeoutException($"{fleet.Connected} of {size} agents connected 3 minutes after the kill");
                await Task.Delay(20);
            }
            var dialledSeconds = killed.Elapsed.TotalSeconds;
            await WaitOnlineAsync(api, size, TimeSpan.FromMinutes(3));
            var onlineSeconds = killed.Elapsed.TotalSeconds;
            results.AtMost(s, $"kill -9 of one instance -> all {size:N0} online again (GET /agents)", onlineSeconds, "s", 30,
                $"{held:N0} agents were on the killed instance; they redial the next instance with the agent's backoff");
            results.Info(s, "kill -9 -> every agent connected again (simulator's count)", dialledSeconds, "s");
        }
        finally
        {
            foreach (var instance in instances) await instance.DisposeAsync();
        }
    }

    private static async Task WaitOnlineAsync(HttpClient api, int size, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        int online;
        while ((online = await ControlPlaneProcess.CountOnlineAsync(api)) < size)
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"GET /agents shows {online} of {size} online after {timeout.TotalSeconds:0} s");
            await Task.Delay(200);
        }
    }

    private static async Task CreateDatabaseAsync(PostgresServer postgres, string database)
    {
        // One database per configuration, so each starts from an empty store as the SQLite one does.
        var bin = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "psql"))).Order().Last();
        var start = new ProcessStartInfo(Path.Combine(bin, "psql"), ["-h", "127.0.0.1", "-p", postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", $"CREATE DATABASE {database}"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"CREATE DATABASE {database} failed: {await error}");
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
