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

    /// <summary>The database's size while clients run health checks at a steady rate with retention on, starting from a
    /// store of jobs all past their retention: retention deletes them in small batches and gives their pages back.</summary>
    private static async Task RetentionUnderLoadAsync(BenchSettings settings, Results results, bool full)
    {
        var old = full ? 500_000 : 20_000;
        var seconds = full ? 90 : 20;
        Console.WriteLine($"\n== history: database size under a steady load, retention on, from {old:N0} expired jobs");
        var dataDir = Path.Combine(settings.OutDir, "data-history-retention");
        var db = Path.Combine(dataDir, "instadeploy.db");
        var port = BenchSettings.FreePort();
        await (await ControlPlaneProcess.StartAsync(settings, dataDir, port, "control-plane-history-retention.log")).DisposeAsync();
        await HistorySeeder.SeedAsync(db, old, DateTimeOffset.UtcNow - TimeSpan.FromDays(40), TimeSpan.FromDays(20), CancellationToken.None);
        double Size() => (new FileInfo(db).Length + (File.Exists(db + "-wal") ? new FileInfo(db + "-wal").Length : 0)) / 1048576.0;
        var atStart = Size();

        await using var cp = await ControlPlaneProcess.StartAsync(settings, dataDir, port, "control-plane-history-retention.log",
            new Dictionary<string, string> { ["INSTADEPLOY_JOB_RETENTION_DAYS"] = "30", ["INSTADEPLOY_JOB_OUTPUT_RETENTION_DAYS"] = "7", ["INSTADEPLOY_RETENTION_INTERVAL_SECONDS"] = "5" });
        await using var fleet = new AgentFleet(new IPEndPoint(IPAddress.Loopback, port), ControlPlaneProcess.AgentToken, "hist", dialConcurrency: 64);
        await fleet.GrowToAsync(HistorySeeder.Agents, TimeSpan.FromMinutes(1));
        fleet.RecordJobs = true;
        using var api = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl, connections: 8);
        var done = 0;
        var end = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
        var sizes = new List<(double At, double MiB, long Jobs)>();
        var clock = Stopwatch.StartNew();
        var sampler = Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                var total = (await api.GetFromJsonAsync<JsonElement>("/jobs/summary")).GetProperty("total").GetInt64();
                sizes.Add((clock.Elapsed.TotalSeconds, Size(), total));
                await Task.Delay(TimeSpan.FromSeconds(5));
            }
        });
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
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
        await sampler;
        var last = (await api.GetFromJsonAsync<JsonElement>("/jobs/summary")).GetProperty("total").GetInt64();
        const string r = "9 history, retention under load";
        results.Info(r, $"database at the start ({old:N0} jobs past retention)", atStart, "MiB");
        results.Info(r, "database, largest while under load", sizes.Max(s => s.MiB), "MiB", $"{done / (double)seconds:0} jobs/s for {seconds} s");
        results.Info(r, "database at the end", Size(), "MiB", $"{last:N0} jobs stored");
        results.Note($"retention under load, (s, MiB, jobs): {string.Join("; ", sizes.Select(s => $"{s.At:0} s {s.MiB:0.0} MiB {s.Jobs:N0}"))}");
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
