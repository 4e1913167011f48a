using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace InstaDeploy.Testing;

/// <summary>
/// The control plane and agents as real processes (<c>dotnet InstaDeploy.*.dll</c>, started the way an operator
/// starts them), so tests can kill -9 them and start them again on the same data.
/// </summary>
public sealed class ProcessFleet : IAsyncDisposable
{
    public const string Token = "process-fleet-token-0123456789abcdef0123";
    private readonly List<ServiceProcess> _processes = [];

    public ProcessFleet()
    {
        Root = Directory.CreateTempSubdirectory("instadeploy-processes-").FullName;
        ControlPlanePort = FreePort();
    }

    public string Root { get; }

    public int ControlPlanePort { get; }

    public Uri ControlPlaneUrl => new($"http://127.0.0.1:{ControlPlanePort}");

    public const string AdminApiKey = "idk_process-fleet-admin-key-0123456789";

    public HttpClient CreateApiClient()
    {
        var client = new HttpClient { BaseAddress = ControlPlaneUrl };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminApiKey);
        return client;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The control plane's data folder unless a start says otherwise.</summary>
    public string ControlPlaneDataDirectory => Path.Combine(Root, "control-plane");

    /// <summary>Starts the control plane and waits until it answers /health.</summary>
    /// <param name="settings">Settings over the defaults (e.g. another INSTADEPLOY_DATA_DIR, or TLS).</param>
    /// <param name="probe">The client that asks /health (default: plain HTTP on <see cref="ControlPlaneUrl"/>).</param>
    public async Task<ServiceProcess> StartControlPlaneAsync(IReadOnlyDictionary<string, string>? settings = null, HttpClient? probe = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["AGENT_SECRET_TOKEN"] = Token,
            ["INSTADEPLOY_ADMIN_API_KEY"] = AdminApiKey,
            ["INSTADEPLOY_DATA_DIR"] = ControlPlaneDataDirectory,
            ["ASPNETCORE_URLS"] = ControlPlaneUrl.ToString(),
            ["INSTADEPLOY_AGENT_PING_SECONDS"] = "2",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) environment[key] = value;
        var process = Start("control-plane", "InstaDeploy.ControlPlane.dll", environment);
        using var ownProbe = probe is null ? CreateApiClient() : null;
        var http = probe ?? ownProbe!;
        await Eventually.TrueAsync(async () =>
        {
            if (process.HasExited) throw new InvalidOperationException("the control plane exited: " + process.Output);
            try { return (await http.GetAsync("/health")).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(180), "the control plane to answer /health"); // a loaded CI machine can take minutes
        return process;
    }

    /// <summary>Runs a command of the control-plane binary (e.g. <c>backup --to DIR</c>) to its end, with the control
    /// plane's data folder unless <paramref name="settings"/> say otherwise.</summary>
    public async Task<(int ExitCode, string Output)> RunControlPlaneCommandAsync(IReadOnlyDictionary<string, string>? settings, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "InstaDeploy.ControlPlane.dll"));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["INSTADEPLOY_DATA_DIR"] = ControlPlaneDataDirectory;
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await output + await error);
    }

    /// <summary>Starts an agent with the built-in plugins, its projects and state under this fleet's folder.</summary>
    /// <param name="settings">Settings over the defaults (e.g. AGENT_ENROLLMENT_TOKEN, AGENT_CA_CERT).</param>
    public ServiceProcess StartAgent(string hostname, Uri? serverUrl = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["SERVER_URL"] = (serverUrl ?? new Uri($"ws://127.0.0.1:{ControlPlanePort}/ws")).ToString(),
            ["AGENT_SECRET_TOKEN"] = Token,
            ["AGENT_HOSTNAME"] = hostname,
            ["AGENT_PROJECTS_DIR"] = Path.Combine(Root, hostname, "projects"),
            ["AGENT_STATE_DIR"] = Path.Combine(Root, hostname, "state"),
            ["AGENT_PLUGINS_DIR"] = Path.Combine(AppContext.BaseDirectory, "plugins"),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) environment[key] = value;
        return Start(hostname, "InstaDeploy.Agent.dll", environment);
    }

    /// <summary>Starts a program by its path (an agent's launcher in an installation folder, say), with the agent's
    /// defaults for <paramref name="hostname"/> under this fleet's folder and <paramref name="settings"/> over them.</summary>
    public ServiceProcess StartAgentProgram(string hostname, string program, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? settings = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["SERVER_URL"] = new Uri($"ws://127.0.0.1:{ControlPlanePort}/ws").ToString(),
            ["AGENT_SECRET_TOKEN"] = Token,
            ["AGENT_HOSTNAME"] = hostname,
            ["AGENT_PROJECTS_DIR"] = Path.Combine(Root, hostname, "projects"),
            ["AGENT_STATE_DIR"] = Path.Combine(Root, hostname, "state"),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) environment[key] = value;
        return Start(hostname, program, arguments, environment);
    }

    private ServiceProcess Start(string name, string dll, Dictionary<string, string> environment) =>
        Start(name, "dotnet", [Path.Combine(AppContext.BaseDirectory, dll)], environment);

    private ServiceProcess Start(string name, string program, IReadOnlyList<string> arguments, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(program, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Root,
        };
        foreach (var (key, value) in environment) start.Environment[key] = value;
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__LogLevel__Microsoft.EntityFrameworkCore"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning";
        var process = new ServiceProcess(name, Process.Start(start)!);
        _processes.Add(process);
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes) process.Kill();
        foreach (var process in _processes) await process.WaitForExitAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A started service process with everything it printed.</summary>
public sealed class ServiceProcess
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    public ServiceProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    public IReadOnlyCollection<string> Lines => _lines;

    public string Output => string.Join('\n', _lines);

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>kill -9: no shutdown, no flush, as a crash or an OOM kill.</summary>
    public void Kill()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    /// <summary>kill -TERM: the stop an operator (or systemd) asks for; the process shuts down on its own.</summary>
    public void Terminate()
    {
        if (_process.HasExited) return;
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!;
        kill.WaitForExit();
    }

    /// <summary>Waits for the process to end by itself, up to <paramref name="timeout"/>; false if it still runs.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public Task WaitForExitAsync() => _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
}
