namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary><c>STOP_COMPOSE</c>: runs <c>down --remove-orphans</c> for a deployed project.</summary>
public sealed class StopComposeHandler(ComposeCli compose, ProjectFolders folders) : ICommandHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> CommandTypes { get; } = [Contracts.CommandTypes.StopCompose];

    /// <inheritdoc />
    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        var projectName = context.GetProjectName();
        folders.RegisterSecrets(context, projectName); // compose reads the .env, and may quote it in an error
        var composeFile = folders.ComposeFileOf(projectName);
        if (!File.Exists(composeFile))
            return CommandResult.Failure($"project '{projectName}' is not deployed on this agent (no {composeFile})");

        var (fileName, arguments) = await compose.CommandAsync(projectName, composeFile, context.CancellationToken);
        arguments.AddRange(["down", "--remove-orphans"]);
        var result = await ProcessRunner.RunAsync(fileName, arguments, context.WriteOutputLineAsync, context.CancellationToken,
            workingDirectory: Path.GetDirectoryName(composeFile));

        return result.ExitCode == 0
            ? CommandResult.Success($"Project '{projectName}' stopped")
            : CommandResult.Failure($"compose down exited with code {result.ExitCode}: {string.Join('\n', result.StandardErrorTail)}");
    }
}
