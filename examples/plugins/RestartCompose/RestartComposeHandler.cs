using InstaDeploy.Agent.Plugins;
using Microsoft.Extensions.Logging;

namespace RestartCompose;

/// <summary>
/// <c>RESTART_COMPOSE {project_name}</c>: restarts a deployed project's containers with
/// <c>docker compose -p &lt;project&gt; -f &lt;file&gt; restart</c>, streaming compose's output.
/// </summary>
public sealed partial class RestartComposeHandler(ComposeCli compose, ILogger<RestartComposeHandler> logger) : ICommandHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> CommandTypes { get; } = ["RESTART_COMPOSE"];

    /// <inheritdoc />
    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        var project = context.GetProjectName(); // validated against the project name rule
        var composeFile = Path.Combine(context.ProjectsDirectory, project, "docker-compose.yml");
        if (!File.Exists(composeFile))
            return CommandResult.Failure($"project '{project}' is not deployed on this agent (no {composeFile})");

        LogRestarting(logger, project);
        var (fileName, arguments) = await compose.CommandAsync(project, composeFile, context.CancellationToken);
        arguments.Add("restart");
        var result = await ProcessRunner.RunAsync(fileName, arguments, context.WriteOutputLineAsync, context.CancellationToken);
        return result.ExitCode == 0
            ? CommandResult.Success($"Project '{project}' restarted")
            : CommandResult.Failure($"compose restart exited with code {result.ExitCode}: {string.Join('\n', result.StandardErrorTail)}");
    }

    [LoggerMessage(LogLevel.Information, "Restarting {Project}")]
    private static partial void LogRestarting(ILogger logger, string project);
}

/// <summary>Registers the services the handler needs; the agent calls it when it loads the plugin.</summary>
public sealed class Startup : IPluginStartup
{
    /// <inheritdoc />
    public void Configure(Microsoft.Extensions.DependencyInjection.IServiceCollection services) =>
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<ComposeCli>(services);
}
