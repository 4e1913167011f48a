using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>
/// <c>REGISTRY_LOGIN</c>: tries the login the command carries with <c>docker login --password-stdin</c> (the password is
/// never an argument), under a private <c>DOCKER_CONFIG</c> removed afterwards, and reports what the registry answered.
/// Nothing of the login stays on the agent, and the password is redacted from everything the job reports.
/// </summary>
public sealed class RegistryLoginHandler(ComposeCli compose) : ICommandHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> CommandTypes { get; } = [Contracts.CommandTypes.RegistryLogin];

    /// <inheritdoc />
    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        var payload = context.ReadPayload(CommandPayloadJson.RegistryLogin);
        if (payload.RegistryAuths is not [var login])
            return CommandResult.Failure($"REGISTRY_LOGIN carries {payload.RegistryAuths?.Count ?? 0} logins; it tries exactly one");
        await using var config = await JobDockerConfig.CreateAsync([login], context);
        var result = await ProcessRunner.RunAsync(compose.DockerPath, ["login", "--username", login.Username, "--password-stdin", login.Host], null,
            new ProcessOptions { Environment = config!.Environment, StandardInput = login.Password, StderrTailLines = 20 }, context.CancellationToken);
        // docker login warns, on success, that the password is stored unencrypted: here it is, in a folder that is gone now.
        var said = context.Redact(string.Join(' ', result.StandardOutput.Concat(result.StandardErrorTail)
            .Where(line => !line.Contains("unencrypted", StringComparison.OrdinalIgnoreCase) && !line.Contains("credential helper", StringComparison.OrdinalIgnoreCase)
                && !line.Contains("credentials-store", StringComparison.OrdinalIgnoreCase) && line.Trim().Length > 0)).Trim());
        var data = System.Text.Json.JsonSerializer.SerializeToElement(new Dictionary<string, object?>
        {
            ["host"] = login.Host,
            ["logged_in"] = result.ExitCode == 0,
            ["registry_answer"] = said,
        });
        await context.WriteOutputLineAsync($"docker login {login.Host} as {login.Username}: {said}");
        return result.ExitCode == 0
            ? CommandResult.Success($"{login.Host} accepted the login of {login.Username}: {said}", data)
            : CommandResult.Failure($"{login.Host} refused the login of {login.Username}: {said}", data);
    }
}
