using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary><c>DEPLOY_COMPOSE</c>: writes the compose file and runs <c>up -d --remove-orphans</c>.</summary>
public sealed class DeployComposeHandler(ComposeCli compose, ProjectFolders folders, Microsoft.Extensions.Configuration.IConfiguration configuration) : ICommandHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> CommandTypes { get; } = [Contracts.CommandTypes.DeployCompose];

    /// <summary>
    /// The agent's own check of the deploy policy, when AGENT_POLICY=on (bind mounts allowed under
    /// AGENT_POLICY_BIND_ALLOW): the control plane checks it too, but the server is what it protects.
    /// </summary>
    private IReadOnlyList<string> PolicyViolations(byte[] content)
    {
        if (!string.Equals(configuration["AGENT_POLICY"], "on", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(configuration["AGENT_POLICY"], "true", StringComparison.OrdinalIgnoreCase))
            return [];
        var yaml = System.Text.Encoding.UTF8.GetString(content);
        if (InstaDeploy.Compose.ComposeValidator.Validate(yaml) is { } invalid) return [invalid];
        var allow = (configuration["AGENT_POLICY_BIND_ALLOW"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return InstaDeploy.Compose.ComposePolicy.Check(yaml, allow);
    }

    /// <inheritdoc />
    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        var projectName = context.GetProjectName();
        var encoded = context.GetRequiredString("compose_file_base64");
        byte[] content;
        try
        {
            content = Convert.FromBase64String(encoded);
        }
        catch (FormatException)
        {
            return CommandResult.Failure("compose_file_base64 is not valid base64");
        }
        if (content.Length == 0) return CommandResult.Failure("compose_file_base64 decodes to an empty file");
        if (PolicyViolations(content) is { Count: > 0 } violations)
            return CommandResult.Failure("this agent's deploy policy (AGENT_POLICY) refuses the compose file: " + string.Join("; ", violations));
        if (folders.ProjectSharingComposeName(projectName) is { } other)
            return CommandResult.Failure(
                $"project '{projectName}' would be the same compose project ('{ComposeCli.ComposeProjectName(projectName)}') as project '{other}', which is deployed on this agent; use a name that differs from it in more than letter case or a leading '-'/'_'");

        var composeFile = await folders.WriteComposeFileAsync(projectName, content, context.CancellationToken);
        await context.WriteOutputLineAsync($"Wrote {composeFile} ({content.Length} bytes)");

        var (fileName, arguments) = await compose.CommandAsync(projectName, composeFile, context.CancellationToken);
        arguments.AddRange(["up", "-d", "--remove-orphans"]);
        var result = await ProcessRunner.RunAsync(fileName, arguments, context.WriteOutputLineAsync, context.CancellationToken,
            workingDirectory: Path.GetDirectoryName(composeFile));

        return result.ExitCode == 0
            ? CommandResult.Success("Deployment successful")
            : CommandResult.Failure($"compose up exited with code {result.ExitCode}: {string.Join('\n', result.StandardErrorTail)}");
    }
}
