using InstaDeploy.Agent.Commands;
using InstaDeploy.Agent.Connection;
using InstaDeploy.Agent.PluginHost;

namespace InstaDeploy.Agent;

/// <summary>Builds the agent's host: settings, plugins, the command runner and the connection to the control plane.</summary>
public static class AgentHost
{
    /// <summary>Returns the host, or null and the problems with the settings (each naming the variable to set).</summary>
    public static (IHost? Host, IReadOnlyList<string> Problems) Create(string[] args, Action<HostApplicationBuilder>? configure = null)
    {
        // The app's folder, not the current directory, so appsettings.json is read wherever the agent is started from.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder);
        var (options, problems) = AgentOptions.Read(builder.Configuration);
        if (options is null) return (null, problems);

        builder.AddServiceDefaults(AgentTelemetry.Name, InstaDeploy.Agent.Plugins.ProcessRunner.ActivitySource.Name);
        builder.Services.AddSingleton<AgentTelemetry>();
        builder.Services.AddSingleton(options);
        // Longer than the connection service's drain time, so running jobs can finish when the agent is stopped.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(35));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<AgentInfo>();
        builder.Services.AddSingleton<InstaDeploy.Agent.Plugins.IAgentInfo>(sp => sp.GetRequiredService<AgentInfo>());
        builder.Services.AddSingleton<PluginFactory>();
        builder.Services.AddSingleton<PluginCatalog>();
        builder.Services.AddSingleton<PluginFolderWatcher>();
        // Registered first: the plugins are loaded before the agent connects.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PluginFolderWatcher>());
        builder.Services.AddSingleton<ProjectLocks>();
        builder.Services.AddSingleton<JobJournal>();
        builder.Services.AddSingleton<AgentCredentialProvider>();
        builder.Services.AddHttpClient("enrollment").ConfigurePrimaryHttpMessageHandler(() =>
        {
            var handler = new SocketsHttpHandler();
            if (Connection.AgentTls.Validator(options) is { } validator) handler.SslOptions.RemoteCertificateValidationCallback = validator;
            return handler;
        });
        builder.Services.AddSingleton<Updates.BundleDownloader>();
        builder.Services.AddSingleton<Updates.AgentUpdater>();
        builder.Services.AddSingleton<Updates.PluginInstaller>();
        builder.Services.AddSingleton<CommandRunner>();
        builder.Services.AddSingleton<AgentConnectionService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AgentConnectionService>());
        builder.Services.AddHostedService<HostMetrics.HostMetricsSampler>();
        try
        {
            Directory.CreateDirectory(options.ProjectsDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, [$"AGENT_PROJECTS_DIR '{options.ProjectsDirectory}' cannot be created: {e.Message}"]);
        }
        try
        {
            // The journal holds results (and the agent's key sits beside it): owner-only, like ~/.ssh.
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(Path.Combine(options.StateDirectory, "jobs"));
            else
            {
                const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
                Directory.CreateDirectory(options.StateDirectory, OwnerOnly);
                Directory.CreateDirectory(Path.Combine(options.StateDirectory, "jobs"), OwnerOnly);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, [$"AGENT_STATE_DIR '{options.StateDirectory}' cannot be created: {e.Message}"]);
        }
        return (builder.Build(), []);
    }
}
