using System.Diagnostics;

namespace InstaDeploy.EndToEnd.Tests.Cluster;

/// <summary>
/// Three control-plane processes on one PostgreSQL server of this class's own (so it can be stopped), behind a real
/// HAProxy running examples/haproxy/haproxy.cfg as it is, and two real agents that dial HAProxy. Instance a starts
/// first and the agents connect while it is the only one up, so a holds both; then b and c start.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public static readonly string[] AgentIds = ["cluster-agent-1", "cluster-agent-2"];
    private static readonly string[] Names = ["a", "b", "c"];

    private Process? _haproxy;

    public ProcessFleet Fleet { get; } = new();

    public PostgresServer Postgres { get; private set; } = null!;

    /// <summary>Each instance's port, by name.</summary>
    public Dictionary<string, int> Ports { get; } = Names.ToDictionary(n => n, _ => ProcessFleet.FreePort());

    /// <summary>Each instance's process now (a restarted one replaces its entry).</summary>
    public Dictionary<string, ServiceProcess> Instances { get; } = [];

    public Dictionary<string, ServiceProcess> Agents { get; } = [];

    public int BalancerPort { get; } = ProcessFleet.FreePort();

    /// <summary>The API through HAProxy.</summary>
    public HttpClient Api { get; private set; } = null!;

    /// <summary>Compose projects deployed by the tests, removed at the end.</summary>
    public List<string> Projects { get; } = [];

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        Postgres = await PostgresServer.StartAsync();
        Api = Client(BalancerPort);
        await StartInstanceAsync("a");
        await StartHaproxyAsync();
        foreach (var agentId in AgentIds)
            Agents[agentId] = Fleet.StartAgent(agentId, new Uri($"ws://127.0.0.1:{BalancerPort}/ws"));
        foreach (var agentId in AgentIds) await Api.WaitForAgentOnlineAsync(agentId, TimeSpan.FromSeconds(60));
        await Task.WhenAll(StartInstanceAsync("b"), StartInstanceAsync("c"));
    }

    /// <summary>Starts (or starts again) instance <paramref name="name"/> and waits until it answers /health.</summary>
    public async Task StartInstanceAsync(string name)
    {
        var port = Ports[name];
        using var probe = Client(port);
        Instances[name] = await Fleet.StartControlPlaneAsync(new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["INSTADEPLOY_POSTGRES"] = Postgres.ConnectionString,
            ["INSTADEPLOY_INSTANCE_ID"] = name,
            ["INSTADEPLOY_DATA_DIR"] = Path.Combine(Fleet.Root, $"instance-{name}"),
            ["INSTADEPLOY_KEY_RING_DIR"] = Path.Combine(Fleet.Root, "key-ring"), // one key ring for all (docs/SCALING.md)
        }, probe);
    }

    /// <summary>The API of one instance, not through the balancer.</summary>
    public HttpClient InstanceApi(string name) => Client(Ports[name]);

    /// <summary>The instance whose process holds the agent's connection now (its last connect is after its last disconnect).</summary>
    public string? HolderOf(string agentId)
    {
        foreach (var (name, process) in Instances)
        {
            if (process.HasExited) continue;
            var lines = process.Lines.ToList();
            var connected = lines.FindLastIndex(l => l.Contains($"Agent {agentId} connected (", StringComparison.Ordinal));
            var disconnected = lines.FindLastIndex(l => l.Contains($"Agent {agentId} disconnected", StringComparison.Ordinal));
            if (connected >= 0 && connected > disconnected) return name;
        }
        return null;
    }

    private HttpClient Client(int port)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ProcessFleet.AdminApiKey);
        return client;
    }

    private async Task StartHaproxyAsync()
    {
        var tools = Path.Combine(DockerCli.RepositoryRoot(), "artifacts", "tools", "haproxy");
        var binary = Path.Combine(tools, "usr", "sbin", "haproxy");
        if (!File.Exists(binary)) throw new InvalidOperationException("HAProxy is not in artifacts/tools: run bash eng/setup-proxies.sh (eng/test.sh does).");
        var start = new ProcessStartInfo(binary, ["-db", "-f", Path.Combine(DockerCli.RepositoryRoot(), "examples", "haproxy", "haproxy.cfg")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["LD_LIBRARY_PATH"] = Path.Combine(tools, "usr", "lib", "x86_64-linux-gnu");
        start.Environment["INSTADEPLOY_LB_BIND"] = $"127.0.0.1:{BalancerPort}";
        foreach (var name in Names) start.Environment[$"INSTADEPLOY_{name.ToUpperInvariant()}"] = $"127.0.0.1:{Ports[name]}";
        _haproxy = Process.Start(start)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _haproxy.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        _haproxy.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        _haproxy.BeginOutputReadLine();
        _haproxy.BeginErrorReadLine();
        // Up once it passes a request to a healthy instance (its first check of a runs at start).
        await Eventually.TrueAsync(async () =>
        {
            if (_haproxy.HasExited) throw new InvalidOperationException("HAProxy exited: " + string.Join('\n', output));
            try { using var health = await Api.GetAsync("/health"); return health.IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(30), "HAProxy to pass /health to instance a");
    }

    public async Task DisposeAsync()
    {
        try { _haproxy?.Kill(); } catch (InvalidOperationException) { }
        _haproxy?.Dispose();
        Api.Dispose();
        await Fleet.DisposeAsync();
        await Task.WhenAll(Projects.Select(FleetFixture.RemoveProjectContainersAsync));
        await Postgres.DisposeAsync();
    }
}
