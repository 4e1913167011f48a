using InstaDeploy.Agent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace InstaDeploy.Testing;

/// <summary>The real agent (its host, plugins and connection) running in the test process against a control plane.</summary>
public sealed class TestAgent : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly string _stateDirectory;

    private TestAgent(IHost host, string hostname, string projectsDirectory, string stateDirectory, CapturingLoggerProvider logs)
    {
        _stateDirectory = stateDirectory;
        Logs = logs;
        _host = host;
        Hostname = hostname;
        ProjectsDirectory = projectsDirectory;
    }

    public string Hostname { get; }

    public string ProjectsDirectory { get; }

    /// <summary>The agent's AGENT_STATE_DIR (its journal and key).</summary>
    public string StateDirectory => _stateDirectory;

    public IServiceProvider Services => _host.Services;

    /// <summary>Everything the agent logged.</summary>
    public CapturingLoggerProvider Logs { get; }

    /// <summary>Starts an agent with the built-in plugins (copied beside the test assembly) and its own projects folder.</summary>
    public static async Task<TestAgent> StartAsync(Uri serverUrl, string token, string hostname, IDictionary<string, string?>? settings = null)
    {
        var projects = Directory.CreateTempSubdirectory("instadeploy-projects-").FullName;
        var state = Directory.CreateTempSubdirectory("instadeploy-agent-state-").FullName;
        var all = new Dictionary<string, string?>
        {
            ["SERVER_URL"] = serverUrl.ToString(),
            ["AGENT_SECRET_TOKEN"] = token,
            ["AGENT_HOSTNAME"] = hostname,
            ["AGENT_PROJECTS_DIR"] = projects,
            ["AGENT_STATE_DIR"] = state,
            ["AGENT_PLUGINS_DIR"] = Path.Combine(AppContext.BaseDirectory, "plugins"),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;

        var logs = new CapturingLoggerProvider();
        var (host, problems) = AgentHost.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(all);
            builder.Logging.AddProvider(logs);
        });
        if (host is null) throw new InvalidOperationException(string.Join("; ", problems));
        await host.StartAsync();
        return new TestAgent(host, hostname, projects, state, logs);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
        foreach (var folder in new[] { ProjectsDirectory, _stateDirectory })
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
