using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.Bench.Scenarios;

/// <summary>
/// Live output: a line an agent sends -> the same line read by a client following <c>GET /jobs/{id}/logs?follow=true</c>.
/// The agent is a peer speaking only the seed protocol; each line carries the bench's own clock, so one process times
/// both ends. Three shapes: one follower of one job; 1,000 followers of one job; 1,000 followers spread over 100 jobs.
/// For each, the control plane's file read syscalls (SQLite's preads; /proc/PID/io syscr) per line sent show whether a
/// follower costs a database read per line. Run against this build and, with --baseline, an earlier one, side by side.
/// </summary>
internal static class LiveOutputScenarios
{
    public static async Task RunAsync(BenchSettings settings, Results results)
    {
        // p50 and p99 per shape, per server; the floor (Floors/FloorServer) is a bare Kestrel app that hands each line
        // straight to its followers' SSE streams, driven by the same agent and followers.
        var measured = new Dictionary<string, List<(string Shape, double P50, double P99)>>(StringComparer.Ordinal);
        foreach (var (label, dll) in settings.ControlPlanes(floor: true))
        {
            var figures = measured[label] = [];
            Console.WriteLine($"\n== live output ({label})");
            var port = BenchSettings.FreePort();
            await using var cp = await ControlPlaneProcess.StartAsync(settings, Path.Combine(settings.OutDir, $"data-output-{Slug(label)}"), port, $"control-plane-output-{Slug(label)}.log", controlPlaneDll: dll);
            await using var agent = await OutputAgent.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), "output-agent");
            using var api = ControlPlaneProcess.CreateApiClient(settings, cp.BaseUrl, connections: 8);
            await WaitOnlineAsync(api, agent.AgentId);
            var s = $"3 live output ({label})";
            var scale = settings.Scale;
            var floor = label == BenchSettings.FloorLabel;
            figures.Add(await MeasureAsync(settings, cp, api, agent, results, s, floor, jobs: 1, followersPerJob: 1, lines: scale.OutputLines, "1 follower"));
            figures.Add(await MeasureAsync(settings, cp, api, agent, results, s, floor, jobs: 1, followersPerJob: scale.OutputFollowers, lines: scale.OutputLines, $"{scale.OutputFollowers} followers of one job"));
            figures.Add(await MeasureAsync(settings, cp, api, agent, results, s, floor, jobs: scale.OutputJobs, followersPerJob: scale.OutputFollowers / scale.OutputJobs, lines: scale.OutputLines,
                $"{scale.OutputFollowers} followers over {scale.OutputJobs} jobs"));
        }
        var floors = measured[BenchSettings.FloorLabel];
        foreach (var (label, figures) in measured.Where(m => m.Key != BenchSettings.FloorLabel))
            foreach (var (figure, bare) in figures.Zip(floors))
            {
                results.Ratio($"3 live output ({label})", $"line -> follower, p50, {figure.Shape}", figure.P50, bare.P50, "ms");
                results.Ratio($"3 live output ({label})", $"line -> follower, p99, {figure.Shape}", figure.P99, bare.P99, "ms");
            }
    }

    private static async Task<(string Shape, double P50, double P99)> MeasureAsync(BenchSettings settings, ControlPlaneProcess cp, HttpClient api, OutputAgent agent, Results results,
        string scenario, bool floor, int jobs, int followersPerJob, int lines, string shape)
    {
        var jobIds = new List<string>();
        for (var j = 0; j < jobs; j++) jobIds.Add(await agent.StartJobAsync(api));

        using var followClient = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = jobs * followersPerJob + 8, UseProxy = false })
        {
            BaseAddress = cp.BaseUrl,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        followClient.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", settings.AdminApiKey);
        using var stop = new CancellationTokenSource();
        var latencies = new List<double>[jobs * followersPerJob];
        var ready = new CountdownEvent(jobs * followersPerJob);
        var followers = new List<Task>();
        for (var j = 0; j < jobs; j++)
            for (var f = 0; f < followersPerJob; f++)
            {
                var slot = j * followersPerJob + f;
                latencies[slot] = new List<double>(lines);
                var jobId = jobIds[j];
                followers.Add(Task.Run(() => FollowAsync(followClient, jobId, latencies[slot], ready, stop.Token)));
            }
        if (!ready.Wait(TimeSpan.FromSeconds(120))) throw new TimeoutException($"only {jobs * followersPerJob - ready.CurrentCount} followers connected");
        // A follower refused (a stream limit, say) would leave the figure measured over fewer followers than it says.
        if (Volatile.Read(ref s_refused) is var refused and > 0)
            throw new InvalidOperationException($"{refused} of {jobs * followersPerJob} followers were refused: {s_refusal}");
        await Task.Delay(500); // every follower is past its first read of the store

        var readsBefore = ProcessStats.ReadSyscalls(cp.Pid);
        var gap = TimeSpan.FromMilliseconds(Math.Max(20, 2 * followersPerJob * jobs / 100.0));
        for (var i = 0; i < lines; i++)
        {
            await agent.SendLineAsync(jobIds[i % jobs], $"t={Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)}");
            await Task.Delay(gap);
        }
        await Task.Delay(1000); // the last lines reach every follower
        var readsAfter = ProcessStats.ReadSyscalls(cp.Pid);
        foreach (var jobId in jobIds) await agent.FinishJobAsync(jobId);
        await Task.WhenAny(Task.WhenAll(followers), Task.Delay(TimeSpan.FromSeconds(30)));
        await stop.CancelAsync();

        var all = latencies.SelectMany(l => l).ToList();
        var expected = (long)lines * followersPerJob;
        var note = $"{all.Count} of {expected} line deliveries timed, a line every {gap.TotalMilliseconds:0} ms";
        var (p50, p99) = (Stats.Percentile(all, 50), Stats.Percentile(all, 99));
        if (floor)
        {
            results.Info(scenario, $"line -> follower, p50, {shape}", p50, "ms", note);
            results.Info(scenario, $"line -> follower, p99, {shape}", p99, "ms");
            return (shape, p50, p99);
        }
        results.AtMost(scenario, $"line -> follower, p50, {shape}", p50, "ms", 2, note);
        results.AtMost(scenario, $"line -> follower, p99, {shape}", p99, "ms", 10);
        results.Info(scenario, $"control-plane file reads per line sent, {shape}", (readsAfter - readsBefore) / (double)lines, "reads");
        return (shape, p50, p99);
    }

    private static async Task FollowAsync(HttpClient client, string jobId, List<double> latencies, CountdownEvent ready, CancellationToken cancellationToken)
    {
        var signalled = false;
        try
        {
            using var response = await client.GetAsync($"/jobs/{jobId}/logs?follow=true", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                s_refusal = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}";
                Interlocked.Increment(ref s_refused);
                return;
            }
            ready.Signal();
            signalled = true;
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith("data: t=", StringComparison.Ordinal))
                {
                    var now = Stopwatch.GetTimestamp();
                    if (long.TryParse(line.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out var sent))
                        lock (latencies) latencies.Add(Stats.TicksToMs(now - sent));
                }
                else if (line == "event: end") break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
        }
        finally
        {
            if (!signalled) ready.Signal();
        }
    }

    private static int s_refused;
    private static string? s_refusal;

    private static string Slug(string label) => label.Replace(' ', '-');

    private static async Task WaitOnlineAsync(HttpClient api, string agentId)
    {
        for (var i = 0; i < 200; i++)
        {
            var agents = await api.GetFromJsonAsync<JsonElement>("/agents");
            if (agents.EnumerateArray().Any(a => a.GetProperty("id").GetString() == agentId && a.GetProperty("online").GetBoolean())) return;
            await Task.Delay(50);
        }
        throw new TimeoutException($"agent {agentId} did not come online");
    }

    /// <summary>A seed-protocol agent that takes commands and answers them only when told: RUNNING lines, then COMPLETED.</summary>
    private sealed class OutputAgent : IAsyncDisposable
    {
        private readonly WebSocket _socket;
        private readonly SemaphoreSlim _send = new(1, 1);
        private readonly System.Threading.Channels.Channel<string> _received = System.Threading.Channels.Channel.CreateUnbounded<string>();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        private OutputAgent(WebSocket socket, string agentId)
        {
            _socket = socket;
            AgentId = agentId;
            _loop = Task.Run(ReceiveAsync);
        }

        public string AgentId { get; }

        public static async Task<OutputAgent> ConnectAsync(IPEndPoint server, string agentId) =>
            new(await WebSocketDialer.ConnectAsync(server, IPAddress.Loopback, agentId, ControlPlaneProcess.AgentToken, reliable: false, CancellationToken.None), agentId);

        public async Task<string> StartJobAsync(HttpClient api)
        {
            using var response = await api.PostAsync($"/agents/{AgentId}/health", null);
            if (response.StatusCode != HttpStatusCode.Accepted)
                throw new InvalidOperationException($"POST /agents/{AgentId}/health answered {(int)response.StatusCode}");
            var jobId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("job_id").GetString()!;
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (await _received.Reader.ReadAsync(wait.Token) != jobId) { }
            return jobId;
        }

        public Task SendLineAsync(string jobId, string line) => SendAsync(new { job_id = jobId, status = "RUNNING", logs = line + "\n", error = "" });

        public Task FinishJobAsync(string jobId) => SendAsync(new { job_id = jobId, status = "COMPLETED", logs = "", error = "" });

        private async Task SendAsync(object response)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(response);
            await _send.WaitAsync();
            try
            {
                await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, _stop.Token);
            }
            finally
            {
                _send.Release();
            }
        }

        private async Task ReceiveAsync()
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        result = await _socket.ReceiveAsync(buffer.AsMemory(length), _stop.Token);
                        length += result.Count;
                    } while (!result.EndOfMessage);
                    if (result.MessageType == WebSocketMessageType.Close) return;
                    using var command = JsonDocument.Parse(buffer.AsMemory(0, length));
                    if (command.RootElement.TryGetProperty("id", out var id)) _received.Writer.TryWrite(id.GetString()!);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _socket.Abort();
            await _loop;
            _socket.Dispose();
        }
    }
}
