using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.Bench.Scenarios;

/// <summary>
/// (9) History at scale: the same control plane on stores of 10,000, 1 million and 10 million jobs (HistorySeeder writes
/// them straight into the file), side by side in one run: dispatch latency and jobs/s with 100 agents connected, and every
/// list endpoint's p50/p99 on its first page and on a page deep in the list. Then the database's size under a steady load
/// with retention on, starting from a store full of jobs past their retention.
/// </summary>
internal static class HistoryScenarios
{
    private const string S = "9 history";

    public static IReadOnlyList<long> DefaultSizes(Scale scale) => scale.Name == "full" ? [10_000, 1_000_000] : [2_000, 20_000];

    public static async Task RunAsync(BenchSettings settings, Results results)
    {
        var sizes = settings.HistorySizes ?? DefaultSizes(settings.Scale);
        var full = settings.Scale.Name == "full";
        var measured = new List<(long Size, Dictionary<string, (double P50, double P99)> Figures, double Seed, double DbMiB)>();
        foreach (var size in sizes)
        {
            Console.WriteLine($"\n== history: {size:N0} jobs");
            measured.Add(await MeasureAsync(settings, size, full));
        }
        if (measured.Count == 0)
        {
            await RetentionUnderLoadAsync(settings, results, full);
            return;
        }

        // Side by side: one row per figure, one column per size.
        var table = new StringBuilder();
        table.AppendLine($"| figure | {string.Join(" | ", measured.Select(m => $"{m.Size:N0} jobs"))} |");
        table.AppendLine($"|---|{string.Join("|", measured.Select(_ => "---"))}|");
        table.AppendLine($"| seeding (s) | {string.Join(" | ", measured.Select(m => m.Seed.ToString("0.0", CultureInfo.InvariantCulture)))} |");
        table.AppendLine($"| database file (MiB) | {string.Join(" | ", measured.Select(m => m.DbMiB.ToString("0", CultureInfo.InvariantCulture)))} |");
        foreach (var name in measured[0].Figures.Keys)
        {
            table.AppendLine($"| {name} p50 / p99 | {string.Join(" | ", measured.Select(m => m.Figures.TryGetValue(name, out var f) ? $"{Results.Format(f.P50)} / {Results.Format(f.P99)}" : "-"))} |");
            foreach (var m in measured)
                if (m.Figures.TryGetValue(name, out var f))
                    results.Info(S, $"{name} at {m.Size:N0} jobs, p50 / p99", f.P50, name.EndsWith("jobs/s", StringComparison.Ordinal) ? "jobs/s" : "ms", $"p99 {Results.Format(f.P99)}");
        }
        var path = Path.Combine(settings.OutDir, $"history-{settings.Scale.Name}.md");
        await File.WriteAllTextAsync(path, table.ToString());
        Console.WriteLine($"\n{table}");
        results.Note($"history side by side: {path}");

        await RetentionUnderLoadAsync(settings, results, full);
    }

    private static async Task<(long, Dictionary<string, (double, double)>, double, double)> MeasureAsync(BenchSettings settings, long size, bool full)
    {
        var dataDir = Path.Combine(settings.OutDir, $"data-history-{size}");
        var db = Path.Combine(dataDir, "instadeploy.db");
        var port = BenchSettings.FreePort();
        // Migrated by the control plane itself (so the file is made as the product makes it), then filled while it is stopped.
        await (await ControlPlaneProcess.StartAsync(settings, dataDir, port, $"control-plane-history-{size}.log")).DisposeAsync();
        var now = DateTimeOffset.UtcNow;
        var seed = await HistorySeeder.SeedAsync(db, size, now, TimeSpan.FromDays(29), CancellationToken.None);
        var dbMiB = new FileInfo(db).Length / 1048576.0;
        Console.WriteLine($"  seeded {size:N0} jobs in {seed.TotalSeconds:0.0} s; the file is {dbMiB:0} MiB");

        var figures = new Dictionary<string, (double, double)>();
        await using var cp = await ControlPlaneProcess.StartAsync(settings, dataDir, port, $"control-plane-history-{size}.log",
            new Dictionary<string, string> { ["INSTADEPLOY_JOB_RETENTION_DAYS"] = "0", ["INSTADEPLOY_JOB_OUTPUT_RETENTION_DAYS"] = "0" });
        await using var fleet = new AgentFleet(new IPEndPoint(IPAddress.Loopback, port), ControlPlaneProcess.AgentToken, "hist", dialConcurrency: 64);
        await fleet.GrowToAsync(HistorySeeder.Agents, TimeSpan.FromMinutes(1));
        fleet.RecordJobs = true;
        await Task.Delay(TimeSpan.FromSeconds(1));

        // Load first, then measure: a fresh control plane spends its first tens of seconds tiering up its code (on two
        // cores that is most of its CPU), which would be measured as if it were the history's cost.
        using (var api = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl, connections: 16))
            await LoadForAsync(api, fleet, TimeSpan.FromSeconds(full ? 40 : 5));

        using (var api = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl, connections: 1))
        {
            var dispatch = new List<double>();
            for (var i = 0; i < (full ? 320 : 60); i++)
            {
                var sent = Stopwatch.GetTimestamp();
                var jobId = await PostHealthAsync(api, fleet.AgentId(i % HistorySeeder.Agents));
                var received = await fleet.CommandReceived(jobId).WaitAsync(TimeSpan.FromSeconds(30));
                await fleet.Acknowledged(jobId).WaitAsync(TimeSpan.FromSeconds(30));
                fleet.Forget(jobId);
                if (i >= 20) dispatch.Add(Stats.TicksToMs(received - sent));
            }
            figures["dispatch POST -> command at the agent (ms)"] = (Stats.Percentile(dispatch, 50), Stats.Percentile(dispatch, 99));
        }

        using (var api = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl, connections: 16))
        {
            var window = TimeSpan.FromSeconds(full ? 10 : 3);
            var done = await LoadForAsync(api, fleet, window);
            var rate = done / window.TotalSeconds;
            figures["throughput, 16 clients (jobs/s)"] = (rate, rate);
        }
        await Task.Delay(TimeSpan.FromSeconds(1)); // the last results land

        using (var api = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl, connections: 1))
        {
            // Deep pages start from a cursor in the middle of the list, made as the server makes its cursors, so a page
            // 5 million rows deep is measured without walking there.
            var middle = now - TimeSpan.FromDays(14.5);
            var jobsMid = Cursor("jobs", middle.UtcTicks.ToString(CultureInfo.InvariantCulture), "job-ffffffffffffffffffffffffffffffff");
            var revisionsMid = Cursor("revisions:proj-007", (Math.Max(HistorySeeder.Projects, size / 100) / HistorySeeder.Projects / 2).ToString(CultureInfo.InvariantCulture));
            string[][] lists =
            [
                ["GET /jobs", "/jobs?limit=50", $"/jobs?limit=50&cursor={jobsMid}"],
                ["GET /jobs?agent_id=", "/jobs?agent_id=hist-00042&limit=50", $"/jobs?agent_id=hist-00042&limit=50&cursor={jobsMid}"],
                ["GET /jobs?status=FAILED", "/jobs?status=FAILED&limit=50", $"/jobs?status=FAILED&limit=50&cursor={jobsMid}"],
                ["GET /jobs?project_name=", "/jobs?project_name=proj-007&limit=50", $"/jobs?project_name=proj-007&limit=50&cursor={jobsMid}"],
                ["GET /jobs/summary", "/jobs/summary", ""],
                ["GET /agents", "/agents?limit=50", $"/agents?limit=50&cursor={Cursor("agents", "hist-00050")}"],
                ["GET /agents?selector=", "/agents?selector=role%3Dweb&limit=20", $"/agents?selector=role%3Dweb&limit=20&cursor={Cursor("agents", "hist-00050")}"],
                ["GET /deployments", "/deployments?limit=50", $"/deployments?limit=50&cursor={Cursor("deployments", "proj-050", "")}"],
                ["GET /deployments?agent_id=", "/deployments?agent_id=hist-00003&limit=50", ""],
                ["GET /deployments/{p}/revisions", "/deployments/proj-007/revisions?limit=50", $"/deployments/proj-007/revisions?limit=50&cursor={revisionsMid}"],
                ["GET /rollouts", "/rollouts?limit=50", ""],
                ["GET /audit", "/audit?limit=50", $"/audit?limit=50&before={size / 20}"],
                ["GET /audit?action=stop", "/audit?action=stop&limit=50", $"/audit?action=stop&limit=50&before={size / 20}"],
                ["GET /audit?target=", "/audit?target=project%3Aproj-007&limit=50", $"/audit?target=project%3Aproj-007&limit=50&before={size / 20}"],
                ["GET /api-keys", "/api-keys?limit=50", ""],
                ["GET /webhooks", "/webhooks?limit=50", ""],
                ["GET /registries", "/registries?limit=50", ""],
                ["GET /enrollment-tokens", "/enrollment-tokens?limit=50", ""],
            ];
            var samples = full ? 100 : 20;
            foreach (var list in lists)
            {
                figures[$"{list[0]} first page (ms)"] = await TimeAsync(api, list[1], samples);
                if (list[2].Length > 0) figures[$"{list[0]} deep page (ms)"] = await TimeAsync(api, list[2], samples);
            }
        }
        return (size, figures, seed.TotalSeconds, dbMiB);
    }

    /// <summary>
    /// A store of <c>backlog</c> jobs all past their retention, seeded once and copied, run under the same steady load
    /// of health checks (8 clients, each sending the next when its last is done) with retention off and then on, side by
    /// side: jobs/s and dispatch latency (POST -> command at the agent), the database's size over time and how fast the
    /// sweeps delete the backlog.
    /// </summary>
    private static async Task RetentionUnderLoadAsync(BenchSettings settings, Results results, bool full)
    {
        var backlog = settings.HistoryBacklog ?? (full ? 1_000_000 : 20_000);
        if (backlog == 0) return;
        var seconds = settings.HistoryLoadSeconds ?? (full ? 180 : 20);
        Console.WriteLine($"\n== history: {backlog:N0} jobs past retention under a steady load for {seconds} s, retention off then on");
        var seedDir = Path.Combine(settings.OutDir, "data-history-backlog");
        if (Directory.Exists(seedDir)) Directory.Delete(seedDir, recursive: true);
        await (await ControlPlaneProcess.StartAsync(settings, seedDir, BenchSettings.FreePort(), "control-plane-history-backlog.log")).DisposeAsync();
        var seed = await HistorySeeder.SeedAsync(Path.Combine(seedDir, "instadeploy.db"), backlog, DateTimeOffset.UtcNow - TimeSpan.FromDays(40), TimeSpan.FromDays(20), CancellationToken.None);
        Console.WriteLine($"  seeded {backlog:N0} jobs in {seed.TotalSeconds:0.0} s ({seed.TotalSeconds / (backlog / 1e6):0.0} s per million; load average {Machine.LoadAverage()})");
        results.Info(R, $"seeding {backlog:N0} jobs", seed.TotalSeconds, "s", $"{seed.TotalSeconds / (backlog / 1e6):0.0} s per million, load average {Machine.LoadAverage()}");

        var runs = new List<LoadRun>();
        foreach (var on in new[] { false, true })
        {
            var dir = Path.Combine(settings.OutDir, on ? "data-history-retention-on" : "data-history-retention-off");
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            foreach (var file in Directory.GetFiles(seedDir)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
            Console.WriteLine($"  retention {(on ? "on" : "off")}: load for {seconds} s");
            runs.Add(await LoadAsync(settings, dir, on, seconds, backlog));
            Directory.Delete(dir, recursive: true); // a 10-million store is gigabytes: one copy at a time
        }
        Directory.Delete(seedDir, recursive: true);

        var (off, onRun) = (runs[0], runs[1]);
        var table = new StringBuilder();
        table.AppendLine($"From {backlog:N0} jobs past retention (seeded in {seed.TotalSeconds:0} s), 8 clients sending health checks for {seconds} s after a warm-up, 100 agents:");
        table.AppendLine();
        table.AppendLine("| figure | retention off | retention on |");
        table.AppendLine("|---|---|---|");
        table.AppendLine($"| jobs/s (8 clients) | {off.JobsPerSecond:0} | {onRun.JobsPerSecond:0} |");
        table.AppendLine($"| dispatch POST -> command at the agent (ms) p50 / p99 | {Results.Format(off.DispatchP50)} / {Results.Format(off.DispatchP99)} | {Results.Format(onRun.DispatchP50)} / {Results.Format(onRun.DispatchP99)} |");
        table.AppendLine($"| database at the start (MiB) | {off.Samples[0].MiB:0} | {onRun.Samples[0].MiB:0} |");
        table.AppendLine($"| database, largest (MiB) | {off.Samples.Max(x => x.MiB):0} | {onRun.Samples.Max(x => x.MiB):0} |");
        table.AppendLine($"| database at the end (MiB) | {off.Samples[^1].MiB:0} | {onRun.Samples[^1].MiB:0} |");
        table.AppendLine($"| expired jobs left at the end | {off.Samples[^1].Expired:N0} | {onRun.Samples[^1].Expired:N0} |");
        table.AppendLine($"| jobs deleted per second (while any were deleted) | - | {onRun.DeletionRate:0} |");
        table.AppendLine($"| backlog gone (expired jobs left <= the kept {Kept:N0}) after (s) | - | {(onRun.DrainedAt is { } at ? at.ToString("0", CultureInfo.InvariantCulture) : "not within the run")} |");
        table.AppendLine($"| load average at the end | {off.LoadAverage} | {onRun.LoadAverage} |");
        table.AppendLine();
        table.AppendLine("Over time (every 5 s: seconds, database MiB, expired jobs left, jobs/s in the window, jobs deleted/s in the window):");
        table.AppendLine();
        table.AppendLine("| s | off: MiB | off: expired left | off: jobs/s | on: MiB | on: expired left | on: jobs/s | on: deleted/s |");
        table.AppendLine("|---|---|---|---|---|---|---|---|");
        for (var i = 0; i < Math.Max(off.Samples.Count, onRun.Samples.Count); i++)
        {
            string Cells(LoadRun run, bool deletions) => i < run.Samples.Count
                ? $"{run.Samples[i].MiB:0} | {run.Samples[i].Expired:N0} | {run.Rate(i).Jobs:0}{(deletions ? $" | {run.Rate(i).Deleted:0}" : "")}"
                : deletions ? "- | - | - | -" : "- | - | -";
            var second = i < onRun.Samples.Count ? onRun.Samples[i].At : off.Samples[i].At;
            table.AppendLine($"| {second:0} | {Cells(off, false)} | {Cells(onRun, true)} |");
        }
        var path = Path.Combine(settings.OutDir, $"history-retention-{settings.Scale.Name}.md");
        await File.WriteAllTextAsync(path, table.ToString());
        Console.WriteLine($"\n{table}");
        results.Note($"retention under load, side by side: {path}");
        foreach (var (run, label) in new[] { (off, "off"), (onRun, "on") })
        {
            results.Info(R, $"jobs/s, retention {label}", run.JobsPerSecond, "jobs/s", $"load average {run.LoadAverage}");
            results.Info(R, $"dispatch p50, retention {label}", run.DispatchP50, "ms", $"p99 {Results.Format(run.DispatchP99)}");
            results.Info(R, $"database largest, retention {label}", run.Samples.Max(x => x.MiB), "MiB", $"start {run.Samples[0].MiB:0}, end {run.Samples[^1].MiB:0}");
        }
        results.Info(R, "jobs deleted per second by retention under load", onRun.DeletionRate, "jobs/s", onRun.DrainedAt is { } d ? $"backlog gone after {d:0} s" : "backlog not gone within the run");
    }

    private const string R = "9 history, retention under load";

    /// <summary>What retention keeps of a seeded store whatever its age: the newest 50 (the default) of each of the 100
    /// agents and of the 100 projects.</summary>
    private const long Kept = 50 * (HistorySeeder.Agents + HistorySeeder.Projects);

    private sealed record Sample(double At, double MiB, long Expired, long Created, long Stored);

    private sealed record LoadRun(List<Sample> Samples, double JobsPerSecond, double DispatchP50, double DispatchP99, double DeletionRate, double? DrainedAt, string LoadAverage)
    {
        /// <summary>Jobs made and jobs deleted per second between sample <paramref name="i"/> - 1 and <paramref name="i"/>.</summary>
        public (double Jobs, double Deleted) Rate(int i)
        {
            if (i == 0) return (0, 0);
            var (a, b) = (Samples[i - 1], Samples[i]);
            var span = b.At - a.At;
            var created = b.Created - a.Created;
            return (created / span, (created - (b.Stored - a.Stored)) / span);
        }
    }

    private static async Task<LoadRun> LoadAsync(BenchSettings settings, string dataDir, bool retention, int seconds, long backlog)
    {
        var db = Path.Combine(dataDir, "instadeploy.db");
        double Size() => (new FileInfo(db).Length + (File.Exists(db + "-wal") ? new FileInfo(db + "-wal").Length : 0)) / 1048576.0;
        var port = BenchSettings.FreePort();
        await using var cp = await ControlPlaneProcess.StartAsync(settings, dataDir, port, $"control-plane-history-retention-{(retention ? "on" : "off")}.log",
            new Dictionary<string, string>
            {
                ["INSTADEPLOY_JOB_RETENTION_DAYS"] = retention ? "30" : "0",
                ["INSTADEPLOY_JOB_OUTPUT_RETENTION_DAYS"] = retention ? "7" : "0",
                ["INSTADEPLOY_RETENTION_INTERVAL_SECONDS"] = "5",
            });
        await using var fleet = new AgentFleet(new IPEndPoint(IPAddress.Loopback, port), ControlPlaneProcess.AgentToken, "hist", dialConcurrency: 64);
        await fleet.GrowToAsync(HistorySeeder.Agents, TimeSpan.FromMinutes(1));
        fleet.RecordJobs = true;
        using var api = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl, connections: 9);
        async Task<long> StoredAsync() => (await api.GetFromJsonAsync<JsonElement>("/jobs/summary")).GetProperty("total").GetInt64();

        var created = 0L;
        var latencies = new List<double>[8];
        var measuring = false;
        var warmUp = TimeSpan.FromSeconds(seconds >= 60 ? 20 : 10);
        // Measured after a warm-up (the first seconds of a fresh process on a loaded machine are JIT and the reconcile of
        // the seeded placements, the same with retention on or off); the first sample is where the window starts.
        var end = Stopwatch.GetTimestamp() + (long)((seconds + warmUp.TotalSeconds) * Stopwatch.Frequency);
        var samples = new List<Sample>();
        var clock = new Stopwatch();
        var sampler = Task.Run(async () =>
        {
            await Task.Delay(warmUp);
            var created0 = Interlocked.Read(ref created);
            var stored0 = await StoredAsync();
            samples.Add(new(0, Size(), stored0 - created0, 0, stored0));
            clock.Start();
            Volatile.Write(ref measuring, true);
            while (Stopwatch.GetTimestamp() < end)
            {
                await Task.Delay(TimeSpan.FromSeconds(5));
                var made = Interlocked.Read(ref created);
                var stored = await StoredAsync();
                samples.Add(new(clock.Elapsed.TotalSeconds, Size(), stored - made, made - created0, stored));
            }
        });
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            var mine = latencies[w] = [];
            while (Stopwatch.GetTimestamp() < end)
            {
                var sent = Stopwatch.GetTimestamp();
                var jobId = await PostHealthAsync(api, fleet.AgentId(random.Next(HistorySeeder.Agents)));
                Interlocked.Increment(ref created);
                var received = await fleet.CommandReceived(jobId).WaitAsync(TimeSpan.FromSeconds(30));
                await fleet.Acknowledged(jobId).WaitAsync(TimeSpan.FromSeconds(30));
                fleet.Forget(jobId);
                if (Volatile.Read(ref measuring)) mine.Add(Stats.TicksToMs(received - sent));
            }
        })));
        await sampler;
        var all = latencies.SelectMany(l => l).ToList();
        var run = new LoadRun(samples, samples[^1].Created / samples[^1].At, Stats.Percentile(all, 50), Stats.Percentile(all, 99), 0, null, Machine.LoadAverage());
        // The deletion rate over the windows in which retention deleted, so a backlog gone early does not dilute it.
        var deleting = Enumerable.Range(1, samples.Count - 1).Where(i => run.Rate(i).Deleted > 1).ToList();
        var rate = deleting.Count == 0 ? 0 : deleting.Sum(i => run.Rate(i).Deleted * (samples[i].At - samples[i - 1].At)) / deleting.Sum(i => samples[i].At - samples[i - 1].At);
        var drained = samples.FirstOrDefault(x => x.Expired <= Kept && backlog > Kept)?.At;
        return run with { DeletionRate = rate, DrainedAt = retention ? drained : null };
    }

    /// <summary>16 clients sending health checks to random agents for <paramref name="window"/>, each sending the next when
    /// its last is acknowledged; how many were done.</summary>
    private static async Task<int> LoadForAsync(HttpClient api, AgentFleet fleet, TimeSpan window)
    {
        var done = 0;
        var end = Stopwatch.GetTimestamp() + (long)(window.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (Stopwatch.GetTimestamp() < end)
            {
                var jobId = await PostHealthAsync(api, fleet.AgentId(random.Next(HistorySeeder.Agents)));
                await fleet.Acknowledged(jobId).WaitAsync(TimeSpan.FromSeconds(30));
                fleet.Forget(jobId);
                Interlocked.Increment(ref done);
            }
        })));
        return done;
    }

    private static async Task<(double, double)> TimeAsync(HttpClient api, string path, int samples)
    {
        var times = new List<double>();
        for (var i = 0; i < samples + 3; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await api.GetAsync(path);
            await response.Content.ReadAsByteArrayAsync();
            var elapsed = Stats.TicksToMs(Stopwatch.GetTimestamp() - start);
            if (response.StatusCode != HttpStatusCode.OK)
                throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            if (i >= 3) times.Add(elapsed);
        }
        return (Stats.Percentile(times, 50), Stats.Percentile(times, 99));
    }

    /// <summary>A cursor as the control plane makes one (Infrastructure/PageCursor.cs): the list, the keys, a checksum.</summary>
    private static string Cursor(string list, params string[] keys)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes((string[])[list, .. keys]);
        var cursor = Base64Url.EncodeToString(body) + "." + Base64Url.EncodeToString(HMACSHA256.HashData("InstaDeploy page cursor v1"u8, body).AsSpan(0, 12));
        return Uri.EscapeDataString(cursor);
    }

    private static async Task<string> PostHealthAsync(HttpClient api, string agentId)
    {
        using var response = await api.PostAsync($"/agents/{agentId}/health", null);
        if (response.StatusCode != HttpStatusCode.Accepted)
            throw new InvalidOperationException($"POST /agents/{agentId}/health answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("job_id").GetString()!;
    }
}
