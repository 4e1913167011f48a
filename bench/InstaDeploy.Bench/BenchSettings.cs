using System.Security.Cryptography;

namespace InstaDeploy.Bench;

/// <summary>What a run measures and with how much: <c>small</c> is the CI smoke pass, <c>full</c> the scale.</summary>
internal sealed record Scale(
    string Name,
    int DispatchAgents, int DispatchWarmup, int DispatchSamples,
    int ThroughputConcurrency, int ThroughputWarmupSeconds, int ThroughputSeconds,
    int[] FleetSizes, int FleetSettleSeconds, int FleetWindowSeconds,
    int RealAgentRuns, int RealAgentIdleSeconds, int DeployRuns,
    int OutputLines, int OutputFollowers, int OutputJobs,
    int RolloutAgents, int RolloutMaxParallel,
    int ClusterWarmupSeconds)
{
    public static readonly Scale Full = new("full", 1000, 300, 3000, 64, 5, 30, [1000, 5000, 10000], 10, 30, 5, 30, 10, 300, 1000, 100, 1000, 100, 120);

    public static readonly Scale Small = new("small", 1000, 50, 300, 32, 2, 8, [250, 500, 1000], 3, 8, 2, 8, 2, 60, 200, 20, 200, 20, 10);
}

internal sealed class BenchSettings
{
    public required Scale Scale { get; init; }

    public required string OutDir { get; init; }

    public required string ControlPlaneDll { get; init; }

    /// <summary>An earlier build's control plane to measure side by side with this one (bench/run.sh --baseline REF).</summary>
    public string? BaselineControlPlaneDll { get; init; }

    public required string AgentDll { get; init; }

    public required string ComposeFile { get; init; }

    public required IReadOnlySet<string> Scenarios { get; init; }

    /// <summary>The history scenario's store sizes in jobs (bench/run.sh --history-sizes); null for the scale's.</summary>
    public IReadOnlyList<long>? HistorySizes { get; init; }

    /// <summary>Jobs past retention the history scenario's retention-under-load step starts from (bench/run.sh
    /// --history-backlog; 0 skips the step); null for the scale's.</summary>
    public long? HistoryBacklog { get; init; }

    /// <summary>Seconds of load for each of retention off and on in that step (bench/run.sh --history-load-seconds).</summary>
    public int? HistoryLoadSeconds { get; init; }

    /// <summary>INSTADEPLOY_DB_SYNCHRONOUS for the control plane: FULL (the product's default) or NORMAL.</summary>
    public string DbSynchronous { get; init; } = "FULL";

    /// <summary>A fresh admin key per run, in the format the control plane accepts (idk_ + 48 hex digits).</summary>
    public string AdminApiKey { get; } = "idk_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    /// <summary>The label of the floor server's figures (Floors/FloorServer).</summary>
    public const string FloorLabel = "floor";

    /// <summary>This build's control plane, then the baseline's when one was given; with <paramref name="floor"/>, the
    /// floor server last (the bench's own binary, <c>floor-server</c>), measured by the same driver.</summary>
    public IEnumerable<(string Label, string Dll)> ControlPlanes(bool floor = false)
    {
        yield return ("this build", ControlPlaneDll);
        if (BaselineControlPlaneDll is not null) yield return ("baseline", BaselineControlPlaneDll);
        if (floor) yield return (FloorLabel, FloorServerDll);
    }

    /// <summary>The bench's own assembly: started with <c>floor-server</c> it is the floor server.</summary>
    public static string FloorServerDll => typeof(BenchSettings).Assembly.Location;

    /// <summary>Idle agents over 3 instances in the opt-in cluster scenario (bench/run.sh --cluster-idle N).</summary>
    public int ClusterIdleAgents { get; init; } = 10_000;

    /// <summary>Whether a scenario runs: every default one when no --only is given; opt-in ones (cluster) only by name.</summary>
    public bool Runs(string scenario) => scenario == "cluster" ? Scenarios.Contains(scenario) : Scenarios.Count == 0 || Scenarios.Contains(scenario);

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
