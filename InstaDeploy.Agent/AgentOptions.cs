using System.Runtime.InteropServices;

namespace InstaDeploy.Agent;

/// <summary>The agent's settings, from the seed's environment variables.</summary>
public sealed class AgentOptions
{
    public required Uri ServerUrl { get; init; }
    public required string Token { get; init; }
    public required string Version { get; init; }
    public required string Architecture { get; init; }
    public required string Hostname { get; init; }
    public required string ProjectsDirectory { get; init; }
    public required string PluginsDirectory { get; init; }

    /// <summary>Longest a command may run on the agent before it is cancelled and reported FAILED.</summary>
    public TimeSpan JobTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Reads and checks the settings. Returns the problems (each naming the variable to set) instead of throwing,
    /// so a misconfigured agent prints what to fix and exits, with no stack trace.
    /// </summary>
    public static (AgentOptions? Options, IReadOnlyList<string> Problems) Read(IConfiguration configuration)
    {
        var problems = new List<string>();

        var serverUrl = configuration["SERVER_URL"];
        Uri? server = null;
        if (string.IsNullOrWhiteSpace(serverUrl))
            problems.Add("SERVER_URL is not set: the control plane's WebSocket URL, e.g. ws://localhost:8000/ws");
        else if (!Uri.TryCreate(serverUrl, UriKind.Absolute, out server) || server.Scheme is not ("ws" or "wss"))
            problems.Add($"SERVER_URL '{serverUrl}' is not a ws:// or wss:// URL, e.g. ws://localhost:8000/ws");

        var token = configuration["AGENT_SECRET_TOKEN"] is { Length: > 0 } secret ? secret : configuration["AGENT_TOKEN"];
        if (string.IsNullOrWhiteSpace(token))
            problems.Add("AGENT_SECRET_TOKEN (or AGENT_TOKEN) is not set: the token the control plane was started with");

        var hostname = configuration["AGENT_HOSTNAME"] is { Length: > 0 } h ? h : Environment.MachineName;
        var timeoutSeconds = 3600;
        if (configuration["AGENT_JOB_TIMEOUT_SECONDS"] is { Length: > 0 } t && (!int.TryParse(t, out timeoutSeconds) || timeoutSeconds < 1))
            problems.Add($"AGENT_JOB_TIMEOUT_SECONDS '{t}' is not a positive number of seconds");

        if (problems.Count > 0) return (null, problems);
        return (new AgentOptions
        {
            ServerUrl = server!,
            Token = token!,
            Version = configuration["AGENT_VERSION"] is { Length: > 0 } v ? v : "1.0.0",
            Architecture = configuration["AGENT_ARCHITECTURE"] is { Length: > 0 } a ? a : DefaultArchitecture(),
            Hostname = hostname,
            ProjectsDirectory = Path.GetFullPath(configuration["AGENT_PROJECTS_DIR"] is { Length: > 0 } p ? p : "./projects"),
            PluginsDirectory = Path.GetFullPath(configuration["AGENT_PLUGINS_DIR"] is { Length: > 0 } d ? d : Path.Combine(AppContext.BaseDirectory, "plugins")),
            JobTimeout = TimeSpan.FromSeconds(timeoutSeconds),
        }, problems);
    }

    /// <summary>This runtime's platform in the seed's spelling, e.g. linux-amd64.</summary>
    public static string DefaultArchitecture()
    {
        var os = OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsMacOS() ? "darwin" : OperatingSystem.IsWindows() ? "windows" : "unknown";
        var arch = RuntimeInformation.OSArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "amd64",
            System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
            System.Runtime.InteropServices.Architecture.X86 => "386",
            System.Runtime.InteropServices.Architecture.Arm => "arm",
            var other => other.ToString().ToLowerInvariant(),
        };
        return $"{os}-{arch}";
    }
}
