using System.Runtime.InteropServices;

namespace InstaDeploy.Agent;

/// <summary>The agent's settings, from the seed's environment variables.</summary>
public sealed partial class AgentOptions
{
    public required Uri ServerUrl { get; init; }
    /// <summary>The shared token (AGENT_SECRET_TOKEN / AGENT_TOKEN), if set; used until the agent has its own key.</summary>
    public string? Token { get; init; }

    /// <summary>AGENT_ENROLLMENT_TOKEN: traded once for the agent's own key, which is then kept in <see cref="KeyFile"/>.</summary>
    public string? EnrollmentToken { get; init; }

    /// <summary>AGENT_CA_CERT: a CA certificate (PEM or DER) trusted for wss:// besides the system's store.</summary>
    public string? CaCertificatePath { get; init; }

    /// <summary>Where the agent keeps its own key (owner-only): AGENT_KEY_FILE, default &lt;state&gt;/agent.key.</summary>
    public required string KeyFile { get; init; }
    public required string Version { get; init; }
    public required string Architecture { get; init; }
    public required string Hostname { get; init; }
    public required string ProjectsDirectory { get; init; }
    public required string PluginsDirectory { get; init; }

    /// <summary>Where plugins installed from the control plane (INSTALL_PLUGIN) go: AGENT_PLUGINS_DIR when set, else under
    /// the launcher <c>&lt;AGENT_HOME&gt;/plugins</c>, which outlives the version folders an update replaces and prunes;
    /// else the plugins folder beside the agent. Scanned after <see cref="PluginsDirectory"/>: a plugin here wins over a
    /// built-in one of the same name.</summary>
    public required string InstalledPluginsDirectory { get; init; }

    /// <summary>AGENT_LABELS (<c>role=web,region=eu</c>): announced to the control plane on every connect, for selectors.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Where the agent remembers jobs and unacknowledged results across restarts.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Longest a command may run on the agent before it is cancelled and reported FAILED.</summary>
    public TimeSpan JobTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>AGENT_UPDATE_PUBLIC_KEY: the operator's public key(s); a release or plugin package is installed only when
    /// its signature verifies with one. Empty: this agent takes no updates.</summary>
    public IReadOnlyList<System.Security.Cryptography.ECDsa> UpdatePublicKeys { get; init; } = [];

    /// <summary>AGENT_HOME: the installation folder the launcher runs this agent from (versions/, current); set by the
    /// launcher. Null when the agent runs on its own, and then it cannot switch versions.</summary>
    public string? Home { get; init; }

    /// <summary>AGENT_METRICS_SECONDS: how often host and container metrics are sampled (0: never).</summary>
    public TimeSpan MetricsInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a handler may go on after its job was cancelled before the job is reported failed without it.</summary>
    public TimeSpan HandlerGracePeriod { get; init; } = TimeSpan.FromSeconds(10);

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
        var enrollment = configuration["AGENT_ENROLLMENT_TOKEN"] is { Length: > 0 } e ? e : null;
        var stateDirectory = Path.GetFullPath(configuration["AGENT_STATE_DIR"] is { Length: > 0 } st ? st : "./agent-state");
        var keyFile = Path.GetFullPath(configuration["AGENT_KEY_FILE"] is { Length: > 0 } k ? k : Path.Combine(stateDirectory, "agent.key"));
        if (string.IsNullOrWhiteSpace(token) && enrollment is null && !File.Exists(keyFile))
            problems.Add("AGENT_SECRET_TOKEN (or AGENT_TOKEN) is not set: the token the control plane was started with (or set AGENT_ENROLLMENT_TOKEN to enroll with an admin-issued token)");

        var hostname = configuration["AGENT_HOSTNAME"] is { Length: > 0 } h ? h : Environment.MachineName;
        var timeoutSeconds = 3600;
        if (configuration["AGENT_JOB_TIMEOUT_SECONDS"] is { Length: > 0 } t && (!int.TryParse(t, out timeoutSeconds) || timeoutSeconds < 1))
            problems.Add($"AGENT_JOB_TIMEOUT_SECONDS '{t}' is not a positive number of seconds");

        var graceSeconds = 10;
        if (configuration["AGENT_JOB_GRACE_SECONDS"] is { Length: > 0 } g && (!int.TryParse(g, out graceSeconds) || graceSeconds < 0))
            problems.Add($"AGENT_JOB_GRACE_SECONDS '{g}' is not a number of seconds");

        var version = configuration["AGENT_VERSION"] is { Length: > 0 } v ? v : "1.0.0";
        var architecture = configuration["AGENT_ARCHITECTURE"] is { Length: > 0 } a ? a : DefaultArchitecture();
        if (!ValidHostname().IsMatch(hostname))
            problems.Add($"AGENT_HOSTNAME '{hostname}' is not a valid agent id: use 1-253 letters, digits, '.', '_' or '-', starting with a letter or digit");
        foreach (var (name, value) in new[] { ("AGENT_SECRET_TOKEN", token ?? ""), ("AGENT_ENROLLMENT_TOKEN", enrollment ?? ""), ("AGENT_VERSION", version), ("AGENT_ARCHITECTURE", architecture) })
            if (value.Any(char.IsControl)) problems.Add($"{name} contains a control character (a newline?); remove it");

        // Read by the health plugin; a typo would silently fall back to the defaults and warn at the wrong level.
        foreach (var name in new[] { "AGENT_MIN_FREE_NETWORKS", "AGENT_MIN_FREE_DISK_MB" })
            if (configuration[name] is { Length: > 0 } floor && (!long.TryParse(floor, out var n) || n < 0))
                problems.Add($"{name} '{floor}' is not a number (0 or more)");

        // The deploy policy is read by the compose plugin; a typo here would silently leave a server unprotected.
        if (configuration["AGENT_POLICY"] is { Length: > 0 } policy && policy.Trim().ToLowerInvariant() is not ("on" or "off" or "true" or "false" or "1" or "0" or "yes" or "no"))
            problems.Add($"AGENT_POLICY '{policy}' is neither on nor off");
        if (configuration["AGENT_POLICY_BIND_ALLOW"] is { Length: > 0 } bindAllow
            && bindAllow.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault(p => !p.StartsWith('/')) is { } relative)
            problems.Add($"AGENT_POLICY_BIND_ALLOW: '{relative}' is not an absolute path (give host folders like /srv/apps, separated by commas)");
        if (configuration["AGENT_POLICY_CAP_ADD_ALLOW"] is { Length: > 0 } capAddAllow
            && capAddAllow.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault(c => !CapabilityName().IsMatch(c)) is { } capability)
            problems.Add($"AGENT_POLICY_CAP_ADD_ALLOW: '{capability}' is not a capability name (e.g. NET_ADMIN or CAP_NET_RAW, separated by commas)");
        var (labels, labelsError) = Contracts.AgentLabels.Parse(configuration["AGENT_LABELS"]);
        if (labelsError is not null) problems.Add($"AGENT_LABELS {labelsError}; write it as role=web,region=eu");

        var ca = configuration["AGENT_CA_CERT"] is { Length: > 0 } c ? Path.GetFullPath(c) : null;
        if (ca is not null)
        {
            try
            {
                Connection.AgentTls.LoadCa(ca).Dispose();
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                problems.Add($"AGENT_CA_CERT '{ca}' is not a readable certificate file (PEM or DER): {error.Message}");
            }
        }

        var metricsSeconds = 10;
        if (configuration["AGENT_METRICS_SECONDS"] is { Length: > 0 } ms && (!int.TryParse(ms, out metricsSeconds) || metricsSeconds is < 0 or > 3600))
            problems.Add($"AGENT_METRICS_SECONDS '{ms}' is not a number of seconds from 0 (off) to 3600");

        IReadOnlyList<System.Security.Cryptography.ECDsa> updateKeys = [];
        if (configuration["AGENT_UPDATE_PUBLIC_KEY"] is { Length: > 0 } updateKey)
        {
            try
            {
                updateKeys = Contracts.Bundles.BundleSignature.LoadPublicKeys(updateKey);
            }
            catch (Contracts.Bundles.BundleException error)
            {
                problems.Add($"AGENT_UPDATE_PUBLIC_KEY: {error.Message}");
            }
        }

        if (problems.Count > 0) return (null, problems);
        return (new AgentOptions
        {
            ServerUrl = server!,
            Token = string.IsNullOrWhiteSpace(token) ? null : token,
            EnrollmentToken = enrollment,
            KeyFile = keyFile,
            CaCertificatePath = ca,
            Version = version,
            Architecture = architecture,
            Hostname = hostname,
            ProjectsDirectory = Path.GetFullPath(configuration["AGENT_PROJECTS_DIR"] is { Length: > 0 } p ? p : "./projects"),
            PluginsDirectory = Path.GetFullPath(configuration["AGENT_PLUGINS_DIR"] is { Length: > 0 } d ? d : Path.Combine(AppContext.BaseDirectory, "plugins")),
            InstalledPluginsDirectory = Path.GetFullPath(configuration["AGENT_PLUGINS_DIR"] is { Length: > 0 } installed ? installed
                : configuration["AGENT_HOME"] is { Length: > 0 } agentHome ? Path.Combine(agentHome, "plugins")
                : Path.Combine(AppContext.BaseDirectory, "plugins")),
            StateDirectory = stateDirectory,
            Labels = labels!,
            JobTimeout = TimeSpan.FromSeconds(timeoutSeconds),
            HandlerGracePeriod = TimeSpan.FromSeconds(graceSeconds),
            UpdatePublicKeys = updateKeys,
            MetricsInterval = TimeSpan.FromSeconds(metricsSeconds),
            Home = configuration["AGENT_HOME"] is { Length: > 0 } home ? Path.GetFullPath(home) : null,
        }, problems);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}\z")]
    private static partial System.Text.RegularExpressions.Regex ValidHostname();

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_]{1,44}\z")]
    private static partial System.Text.RegularExpressions.Regex CapabilityName();

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
