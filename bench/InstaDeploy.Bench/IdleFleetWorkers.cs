using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace InstaDeploy.Bench;

/// <summary>
/// An idle <see cref="AgentFleet"/> spread over child processes of this bench (<c>InstaDeploy.Bench idle-worker ...</c>),
/// so that a fleet larger than one process's open-files limit (20,000 on these machines, and not raisable without
/// CAP_SYS_RESOURCE) can connect at once. Each worker runs its share and prints its counts every 100 ms; the parent adds
/// them up. The agent ids are the same as one fleet's: <c>{prefix}-{index:D5}</c>, each worker taking one range.
/// </summary>
internal sealed class IdleFleetWorkers : IAsyncDisposable
{
    /// <summary>Agents per worker: each holds one socket per agent, well under the 20,000 open files a process may have.</summary>
    public const int AgentsPerWorker = 12_000;

    private readonly List<Worker> _workers = [];

    private IdleFleetWorkers()
    {
    }

    /// <summary>Agents whose WebSocket is open now, over every worker (as last reported, at most 100 ms old).</summary>
    public int Connected => _workers.Sum(w => Volatile.Read(ref w.Connected));

    public long Connects => _workers.Sum(w => Interlocked.Read(ref w.Connects));

    /// <summary>How many agents dialled server <c>0</c> last (the one the scenario kills).</summary>
    public int OnFirstServer => _workers.Sum(w => Volatile.Read(ref w.OnFirstServer));

    public static IdleFleetWorkers Start(IReadOnlyList<IPEndPoint> servers, string token, string prefix, int size, int dialConcurrency)
    {
        var fleet = new IdleFleetWorkers();
        var count = (size + AgentsPerWorker - 1) / AgentsPerWorker;
        var serverList = string.Join(',', servers.Select(s => s.ToString()));
        for (var w = 0; w < count; w++)
        {
            var first = w * AgentsPerWorker;
            var share = Math.Min(AgentsPerWorker, size - first);
            var start = new ProcessStartInfo("dotnet", [typeof(IdleFleetWorkers).Assembly.Location, "idle-worker",
                "--servers", serverList, "--prefix", prefix, "--first", first.ToString(CultureInfo.InvariantCulture),
                "--count", share.ToString(CultureInfo.InvariantCulture), "--dials", Math.Max(1, dialConcurrency / count).ToString(CultureInfo.InvariantCulture)])
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
            };
            start.Environment["AGENT_SECRET_TOKEN"] = token; // not on the command line, where ps shows it
            var worker = new Worker(Process.Start(start)!);
            worker.Reading = Task.Run(() => ReadCountsAsync(worker));
            fleet._workers.Add(worker);
        }
        return fleet;
    }

    public async Task WaitConnectedAsync(int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (Connected < count)
        {
            if (_workers.FirstOrDefault(w => w.Process.HasExited) is { } gone)
                throw new InvalidOperationException($"an idle-agent worker exited with code {gone.Process.ExitCode} ({Connected} of {count} connected)");
            if (clock.Elapsed > timeout) throw new TimeoutException($"only {Connected} of {count} agents connected after {timeout.TotalSeconds:0} s");
            await Task.Delay(20);
        }
    }

    private static async Task ReadCountsAsync(Worker worker)
    {
        while (await worker.Process.StandardOutput.ReadLineAsync() is { } line)
        {
            // "connected connects on-first-server"
            var parts = line.Split(' ');
            if (parts.Length != 3) continue;
            Volatile.Write(ref worker.Connected, int.Parse(parts[0], CultureInfo.InvariantCulture));
            Interlocked.Exchange(ref worker.Connects, long.Parse(parts[1], CultureInfo.InvariantCulture));
            Volatile.Write(ref worker.OnFirstServer, int.Parse(parts[2], CultureInfo.InvariantCulture));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            try { worker.Process.StandardInput.Close(); } catch (IOException) { } // the worker stops its agents and exits
        }
        foreach (var worker in _workers)
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await worker.Process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { worker.Process.Kill(entireProcessTree: true); }
            await worker.Reading!;
            worker.Process.Dispose();
        }
    }

    /// <summary>The worker's side: runs agents [first, first + count) until its standard input closes.</summary>
    public static async Task<int> RunWorkerAsync(IReadOnlyDictionary<string, string> options)
    {
        var servers = options["servers"].Split(',').Select(IPEndPoint.Parse).ToArray();
        var first = int.Parse(options["first"], CultureInfo.InvariantCulture);
        var count = int.Parse(options["count"], CultureInfo.InvariantCulture);
        var token = Environment.GetEnvironmentVariable("AGENT_SECRET_TOKEN") ?? throw new InvalidOperationException("AGENT_SECRET_TOKEN is not set");
        await using var fleet = new AgentFleet(servers, token, options["prefix"], int.Parse(options["dials"], CultureInfo.InvariantCulture), firstIndex: first);
        var grow = fleet.GrowToAsync(count, TimeSpan.FromDays(1));
        var stdin = Task.Run(() => Console.In.ReadToEnd());
        while (!stdin.IsCompleted)
        {
            var onFirst = 0;
            for (var i = 0; i < count; i++) if (fleet.ServerOf(first + i) == 0) onFirst++;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{fleet.Connected} {fleet.Connects} {onFirst}"));
            await Task.WhenAny(stdin, Task.Delay(100));
        }
        _ = grow;
        return 0;
    }

    private sealed class Worker(Process process)
    {
        public Process Process { get; } = process;
        public Task? Reading { get; set; }
        public int Connected;
        public long Connects;
        public int OnFirstServer;
    }
}
