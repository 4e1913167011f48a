using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.Bench.Scenarios;

/// <summary>
/// (5) The real agent, started as a user starts it (<c>dotnet InstaDeploy.Agent.dll</c> from a Release publish with its
/// built-in plugins): time from process start to online in the control plane, and its RSS once idle. (6) Deploy
/// overhead: the same compose file deployed through the agent (REST POST /deploy until the job is COMPLETED) and with
/// the compose CLI directly, torn down between runs; the ratio of the medians.
/// </summary>
internal static class RealAgentScenarios
{
    public static async Task RunAsync(BenchSettings settings, Results results)
    {
        var scale = settings.Scale;
        Console.WriteLine($"\n== the real agent: {scale.RealAgentRuns} starts");
        var port = BenchSettings.FreePort();
        await using var cp = await ControlPlaneProcess.StartAsync(settings, Path.Combine(settings.OutDir, "data-agent"), port, "control-plane-agent.log");
        using var api = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl);

        var startTimes = new List<double>();
        Process? agent = null;
        var agentRoot = Path.Combine(settings.OutDir, "agent");
        try
        {
            for (var run = 0; run < scale.RealAgentRuns; run++)
            {
                if (agent is not null) await StopAsync(agent);
                var id = $"bench-agent-{run}";
                var clock = Stopwatch.StartNew();
                agent = StartAgent(settings, cp, id, agentRoot);
                while (!await IsOnlineAsync(api, id))
                {
                    if (agent.HasExited) throw new InvalidOperationException($"the agent exited with {agent.ExitCode}; see {agentRoot}/agent.log");
                    if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("the agent did not come online in 60 s");
                    await Task.Delay(5);
                }
                startTimes.Add(clock.Elapsed.TotalMilliseconds);
            }

            // The floor idles beside the agent over the same seconds: a bare Generic Host with the agent's GC settings.
            var bare = StartBareHost(settings, agentRoot);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(scale.RealAgentIdleSeconds));
                var rss = ProcessStats.RssBytes(agent!.Id);
                var floorRss = bare.HasExited ? double.NaN : ProcessStats.Mib(ProcessStats.RssBytes(bare.Id));
                const string s = "5 real agent";
                results.AtMost(s, "process start -> online, median", Stats.Median(startTimes), "ms", 1000,
                    $"{startTimes.Count} starts, min {startTimes.Min():0} ms, max {startTimes.Max():0} ms");
                results.AtMost(s, "idle RSS", ProcessStats.Mib(rss), "MiB", 40, $"after {scale.RealAgentIdleSeconds} s connected and idle, built-in plugins loaded");
                results.Info(s, "idle RSS of a bare Generic Host (floor)", floorRss, "MiB", "same GC settings, same seconds idle");
                results.Ratio(s, "idle RSS", ProcessStats.Mib(rss), floorRss, "MiB");
                results.Info(s, "idle RSS over the floor", ProcessStats.Mib(rss) - floorRss, "MiB");
            }
            finally
            {
                await StopAsync(bare);
            }

            if (settings.Runs("deploy")) await DeployOverheadAsync(settings, api, $"bench-agent-{scale.RealAgentRuns - 1}", Path.Combine(agentRoot, "projects"), results);
        }
        finally
        {
            if (agent is not null) await StopAsync(agent);
        }
    }

    private static Process StartAgent(BenchSettings settings, ControlPlaneProcess cp, string id, string root)
    {
        Directory.CreateDirectory(root);
        var log = Path.Combine(root, "agent.log");
        var start = new ProcessStartInfo("/bin/sh", ["-c", $"exec dotnet \"{settings.AgentDll}\" >> \"{log}\" 2>&1"])
        {
            WorkingDirectory = root,
            UseShellExecute = false,
        };
        start.Environment["SERVER_URL"] = cp.WebSocketUrl.ToString();
        start.Environment["AGENT_SECRET_TOKEN"] = ControlPlaneProcess.AgentToken;
        start.Environment["AGENT_HOSTNAME"] = id;
        start.Environment["AGENT_PROJECTS_DIR"] = Path.Combine(root, "projects");
        start.Environment["AGENT_STATE_DIR"] = Path.Combine(root, "state-" + id);
        start.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        return Process.Start(start)!;
    }

    /// <summary>The bench's own binary as a bare Generic Host (Floors/BareHost), with the agent's runtime settings.</summary>
    private static Process StartBareHost(BenchSettings settings, string root)
    {
        var start = new ProcessStartInfo("/bin/sh", ["-c", $"exec dotnet \"{BenchSettings.FloorServerDll}\" bare-host >> \"{Path.Combine(root, "bare-host.log")}\" 2>&1"])
        {
            WorkingDirectory = root,
            UseShellExecute = false,
        };
        // The agent's runtimeconfig: workstation GC (the bench's own too), not concurrent, no tiered PGO.
        start.Environment["DOTNET_gcConcurrent"] = "0";
        start.Environment["DOTNET_TieredPGO"] = "0";
        return Process.Start(start)!;
    }

    private static async Task StopAsync(Process agent)
    {
        if (agent.HasExited) return;
        ProcessStats.Terminate(agent.Id);
        try
        {
            await agent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            agent.Kill(entireProcessTree: true);
        }
    }

    private static async Task<bool> IsOnlineAsync(HttpClient api, string id)
    {
        using var response = await api.GetAsync($"/agents/{id}");
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("online").GetBoolean();
    }

    private static async Task DeployOverheadAsync(BenchSettings settings, HttpClient api, string agentId, string projectsDir, Results results)
    {
        const string s = "6 deploy overhead";
        Console.WriteLine($"\n== deploy overhead: {settings.Scale.DeployRuns} deploys each way");
        if (await RunAsync("docker", ["image", "inspect", "local/busybox:1"]) is not (0, _))
        {
            results.Note("deploy overhead skipped: no Docker engine or no local/busybox:1 image (run `bash eng/setup-docker.sh` first)");
            return;
        }
        var compose = await ComposeCommandAsync();
        var composeFile = settings.ComposeFile;
        var base64 = Convert.ToBase64String(await File.ReadAllBytesAsync(composeFile));
        const string viaAgent = "benchdeploy-agent", direct = "benchdeploy-direct";
        var agentFile = Path.Combine(projectsDir, viaAgent, "docker-compose.yml");

        async Task<double> DeployViaAgentAsync()
        {
            var clock = Stopwatch.StartNew();
            // health_wait_seconds 0: the same work as `up -d` (which does not wait for the containers either); the health
            // gate's own wait (at least its 1 s settle) is a feature, not overhead, and would dwarf the comparison.
            using var response = await api.PostAsJsonAsync("/deploy", new Dictionary<string, object>
            {
                ["project_name"] = viaAgent, ["compose_file_base64"] = base64, ["agent_id"] = agentId, ["health_wait_seconds"] = 0,
            });
            if (response.StatusCode != HttpStatusCode.Accepted) throw new InvalidOperationException($"POST /deploy answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            var posted = clock.Elapsed.TotalMilliseconds;
            var jobId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("job_id").GetString();
            while (true)
            {
                // Polled slowly: a tight poll loop would load the two cores that compose itself runs on. The time is
                // the POST's own plus the job's, from its creation to its result being stored, by the control plane's clock.
                await Task.Delay(100);
                var job = await api.GetFromJsonAsync<JsonElement>($"/jobs/{jobId}");
                var status = job.GetProperty("status").GetString();
                if (status == "COMPLETED")
                    return posted + (job.GetProperty("completed_at").GetDateTimeOffset() - job.GetProperty("created_at").GetDateTimeOffset()).TotalMilliseconds;
                if (status is "FAILED" or "TIMED_OUT" or "EXPIRED") throw new InvalidOperationException($"the deploy ended {status}: {job.GetProperty("error")}");
            }
        }

        async Task<double> DeployDirectAsync()
        {
            var clock = Stopwatch.StartNew();
            var (code, output) = await RunAsync(compose[0], [.. compose[1..], "-p", direct, "-f", composeFile, "up", "-d", "--remove-orphans"]);
            if (code != 0) throw new InvalidOperationException("compose up failed: " + output);
            return clock.Elapsed.TotalMilliseconds;
        }

        async Task DownAsync(string project, string file) =>
            await RunAsync(compose[0], [.. compose[1..], "-p", project, "-f", file, "down", "--remove-orphans"]);

        // A first deploy each way, not counted: the agent finds its compose variant once, and both warm the caches.
        await DeployViaAgentAsync();
        await DownAsync(viaAgent, agentFile);
        await DeployDirectAsync();
        await DownAsync(direct, composeFile);

        var agentTimes = new List<double>();
        var directTimes = new List<double>();
        for (var run = 0; run < settings.Scale.DeployRuns; run++)
        {
            agentTimes.Add(await DeployViaAgentAsync());
            await DownAsync(viaAgent, agentFile);
            directTimes.Add(await DeployDirectAsync());
            await DownAsync(direct, composeFile);
        }
        var ratio = Stats.Median(agentTimes) / Stats.Median(directTimes);
        results.AtMost(s, "deploy via the agent / compose up directly (medians)", (ratio - 1) * 100, "% overhead", 5,
            $"{agentTimes.Count} runs each, alternating; ratio {ratio:0.000}");
        results.Info(s, "deploy via the agent (POST /deploy -> COMPLETED), median", Stats.Median(agentTimes), "ms");
        results.Info(s, $"`{string.Join(' ', compose)} up -d` directly, median", Stats.Median(directTimes), "ms");
        results.Info(s, "absolute overhead (difference of medians)", Stats.Median(agentTimes) - Stats.Median(directTimes), "ms");
    }

    /// <summary>The compose command the agent itself picks: the v2 plugin when present, else v1.</summary>
    private static async Task<string[]> ComposeCommandAsync() =>
        await RunAsync("docker", ["compose", "version"]) is (0, _) ? ["docker", "compose"] : ["docker-compose"];

    private static async Task<(int Code, string Output)> RunAsync(string program, string[] arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var output = new StringBuilder();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            output.Append(await stdout).Append(await stderr);
            return (process.ExitCode, output.ToString());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
