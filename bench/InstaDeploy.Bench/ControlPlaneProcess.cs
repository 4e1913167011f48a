using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace InstaDeploy.Bench;

/// <summary>
/// The control plane as a user starts it: <c>dotnet InstaDeploy.ControlPlane.dll</c> from a Release publish, with
/// its settings in environment variables and its database in a fresh data folder. Its output goes to a log file, as
/// it would to journald.
/// </summary>
internal sealed class ControlPlaneProcess : IAsyncDisposable
{
    public const string AgentToken = "bench-agent-token-0123456789abcdef";

    private readonly BenchSettings _settings;
    private readonly Process _process;
    private bool _disposed;

    private ControlPlaneProcess(BenchSettings settings, Process process, string dataDir, int port)
    {
        _settings = settings;
        _process = process;
        DataDir = dataDir;
        Port = port;
    }

    public int Pid => _process.Id;

    public string DataDir { get; }

    public int Port { get; }

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}");

    public Uri WebSocketUrl => new($"ws://127.0.0.1:{Port}/ws");

    public bool HasExited => _process.HasExited;

    public static HttpClient CreateApiClient(BenchSettings settings, Uri baseUrl, int connections = 16)
    {
        var client = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
        })
        {
            BaseAddress = baseUrl,
            Timeout = TimeSpan.FromSeconds(60),
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", settings.AdminApiKey);
        return client;
    }

    /// <summary>Online agents in GET /agents, every page (a page holds at most 1,000).</summary>
    public static async Task<int> CountOnlineAsync(HttpClient api)
    {
        var online = 0;
        for (var page = "/agents?limit=1000"; page is not null;)
        {
            using var response = await api.GetAsync(page);
            response.EnsureSuccessStatusCode();
            var agents = await response.Content.ReadFromJsonAsync<JsonElement>();
            online += agents.EnumerateArray().Count(a => a.GetProperty("online").GetBoolean());
            page = response.Headers.TryGetValues("X-Next-Cursor", out var next) ? $"/agents?limit=1000&cursor={Uri.EscapeDataString(next.First())}" : null;
        }
        return online;
    }

    /// <summary>Starts it on <paramref name="port"/> with <paramref name="dataDir"/> and waits until /health answers.</summary>
    public static async Task<ControlPlaneProcess> StartAsync(BenchSettings settings, string dataDir, int port, string logName,
        IReadOnlyDictionary<string, string>? extraEnvironment = null, string? controlPlaneDll = null)
    {
        Directory.CreateDirectory(dataDir);
        var log = Path.Combine(settings.OutDir, logName);
        // exec: the shell becomes dotnet, so the pid is the control plane's own (its RSS and CPU are what /proc shows).
        var dll = controlPlaneDll ?? settings.ControlPlaneDll;
        var mode = dll == BenchSettings.FloorServerDll ? " floor-server" : "";
        var start = new ProcessStartInfo("/bin/sh", ["-c", $"exec dotnet \"{dll}\"{mode} >> \"{log}\" 2>&1"])
        {
            WorkingDirectory = dataDir,
            UseShellExecute = false,
        };
        start.Environment["AGENT_SECRET_TOKEN"] = AgentToken;
        start.Environment["INSTADEPLOY_ADMIN_API_KEY"] = settings.AdminApiKey;
        start.Environment["INSTADEPLOY_DATA_DIR"] = dataDir;
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        // The defaults (50 requests/s per key, 1,000 open jobs per agent, 200 streams per key) protect a small install; a load test is
        // one key sending thousands of requests a second, so both are raised, as the README says to for load.
        start.Environment["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000000";
        start.Environment["INSTADEPLOY_MAX_OPEN_JOBS_PER_AGENT"] = "100000";
        // The 1,000 followers of the live-output scenario are one key's streams (200 by default, 5,000 in all).
        start.Environment["INSTADEPLOY_MAX_STREAMS_PER_KEY"] = "100000";
        start.Environment["INSTADEPLOY_MAX_STREAMS"] = "100000";
        start.Environment["INSTADEPLOY_DB_SYNCHRONOUS"] = settings.DbSynchronous;
        start.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        // The floor server is the bench's own binary (workstation GC); it runs with the control plane's runtime settings.
        if (mode.Length > 0) start.Environment["DOTNET_gcServer"] = "1";
        foreach (var (key, value) in extraEnvironment ?? new Dictionary<string, string>()) start.Environment[key] = value;

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var cp = new ControlPlaneProcess(settings, process, dataDir, port);
        await cp.WaitHealthyAsync(TimeSpan.FromSeconds(60));
        return cp;
    }

    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"the control plane exited with {_process.ExitCode}; see {_settings.OutDir}");
            try
            {
                if ((await http.GetAsync("/health")).IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(20);
        }
        throw new TimeoutException("the control plane did not answer /health in time");
    }

    public long RssBytes => ProcessStats.RssBytes(Pid);

    public double CpuSeconds => ProcessStats.CpuSeconds(Pid);

    /// <summary>SIGKILL, as when the machine or the process dies: no graceful close of any connection.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then waits for the exit (SIGKILL after <paramref name="grace"/>).</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited) return;
        ProcessStats.Terminate(Pid);
        try
        {
            await _process.WaitForExitAsync().WaitAsync(grace);
        }
        catch (TimeoutException)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Stops it (once: a scenario that replaced it may dispose it before its own cleanup does).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await StopAsync(TimeSpan.FromSeconds(20));
        _process.Dispose();
    }
}
