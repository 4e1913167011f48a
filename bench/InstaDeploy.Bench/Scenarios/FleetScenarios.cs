using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace InstaDeploy.Bench.Scenarios;

/// <summary>
/// (3) Fleet size: the control plane's RSS and CPU with growing fleets of idle agents, answering the control plane's
/// WebSocket pings (every INSTADEPLOY_AGENT_PING_SECONDS, default 15 s) — the heartbeat. (4) Reconnect storm: with the
/// largest fleet connected, the control plane is restarted (SIGTERM, start again on the same data) and the time until
/// every agent is online again is measured; the agents reconnect with the real agent's backoff.
/// </summary>
internal static class FleetScenarios
{
    public static async Task RunAsync(BenchSettings settings, Results results)
    {
        var scale = settings.Scale;
        Console.WriteLine($"\n== fleet size: {string.Join(" / ", scale.FleetSizes)} idle agents");
        var port = BenchSettings.FreePort();
        var dataDir = Path.Combine(settings.OutDir, "data-fleet");
        var cp = await ControlPlaneProcess.StartAsync(settings, dataDir, port, "control-plane-fleet.log");
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(scale.FleetSettleSeconds));
            var baseline = cp.RssBytes;
            const string s = "3 fleet size";
            results.Info(s, "control-plane RSS with no agent", ProcessStats.Mib(baseline), "MiB");

            await using var fleet = new AgentFleet(new IPEndPoint(IPAddress.Loopback, port), ControlPlaneProcess.AgentToken, "idle", dialConcurrency: 256);
            foreach (var size in scale.FleetSizes)
            {
                var grow = Stopwatch.StartNew();
                await fleet.GrowToAsync(size, TimeSpan.FromMinutes(3));
                var connectSeconds = grow.Elapsed.TotalSeconds;
                await Task.Delay(TimeSpan.FromSeconds(scale.FleetSettleSeconds));

                var cpu0 = cp.CpuSeconds;
                var window = Stopwatch.StartNew();
                long peak = 0;
                while (window.Elapsed < TimeSpan.FromSeconds(scale.FleetWindowSeconds))
                {
                    peak = Math.Max(peak, cp.RssBytes);
                    await Task.Delay(500);
                }
                var cpuPercent = (cp.CpuSeconds - cpu0) / window.Elapsed.TotalSeconds * 100;
                var rss = cp.RssBytes;
                peak = Math.Max(peak, rss);
                var perAgentKb = (rss - baseline) / 1024.0 / size;
                var label = $"{size:N0} idle agents";
                if (size >= 10_000) results.AtMost(s, $"control-plane RSS, {label}", ProcessStats.Mib(rss), "MiB", 1024, $"peak {ProcessStats.Mib(peak):0} MiB");
                else results.Info(s, $"control-plane RSS, {label}", ProcessStats.Mib(rss), "MiB", $"peak {ProcessStats.Mib(peak):0} MiB");
                results.AtMost(s, $"RSS per agent (over the empty baseline), {label}", perAgentKb, "KB", 100);
                results.Info(s, $"control-plane CPU, {label}", cpuPercent, "% of one core", $"{window.Elapsed.TotalSeconds:0} s window with pings");
                results.Info(s, $"time to connect {label} (256 dials at a time)", connectSeconds, "s");
                if (fleet.Connected != size) results.Note($"{fleet.Connected} of {size} agents were connected at the end of the window");
            }

            if (settings.Runs("storm")) cp = await ReconnectStormAsync(settings, cp, fleet, results);
        }
        finally
        {
            await cp.DisposeAsync();
        }
    }

    private static async Task<ControlPlaneProcess> ReconnectStormAsync(BenchSettings settings, ControlPlaneProcess cp, AgentFleet fleet, Results results)
    {
        var size = fleet.Count;
        Console.WriteLine($"\n== reconnect storm: restart the control plane under {size:N0} agents");
        var connectsBefore = fleet.Connects;
        var stopping = Stopwatch.StartNew();
        await cp.StopAsync(TimeSpan.FromSeconds(60));
        var stopSeconds = stopping.Elapsed.TotalSeconds;

        var restart = Stopwatch.StartNew();
        var again = await ControlPlaneProcess.StartAsync(settings, cp.DataDir, cp.Port, "control-plane-fleet.log");
        await cp.DisposeAsync();
        var healthySeconds = restart.Elapsed.TotalSeconds;
        // Every agent lost its connection and dialled again: count the new connections, not the open sockets (a
        // socket may not yet have noticed the old control plane is gone).
        while (fleet.Connects - connectsBefore < size || fleet.Connected < size)
        {
            if (restart.Elapsed > TimeSpan.FromMinutes(3))
                throw new TimeoutException($"{fleet.Connected} of {size} agents back after 3 minutes");
            await Task.Delay(20);
        }
        var dialledSeconds = restart.Elapsed.TotalSeconds;

        // Online as the control plane reports it (GET /agents), which is the operator's view.
        using var api = ControlPlaneProcess.CreateApiClient(settings, again.BaseUrl);
        int online;
        while ((online = await ControlPlaneProcess.CountOnlineAsync(api)) < size)
        {
            if (restart.Elapsed > TimeSpan.FromMinutes(3)) throw new TimeoutException($"GET /agents shows {online} of {size} online after 3 minutes");
            await Task.Delay(100);
        }
        var onlineSeconds = restart.Elapsed.TotalSeconds;

        const string s = "4 reconnect storm";
        results.AtMost(s, $"restart -> all {size:N0} agents online (GET /agents)", onlineSeconds, "s", 30,
            $"graceful stop took {stopSeconds:0.0} s before it, not counted");
        results.Info(s, "restart -> control plane answers /health", healthySeconds, "s");
        results.Info(s, "restart -> every agent connected again (simulator's count)", dialledSeconds, "s");
        results.Info(s, "control-plane RSS after the storm", ProcessStats.Mib(again.RssBytes), "MiB");
        return again;
    }
}
