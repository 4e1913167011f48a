using System.Globalization;
using System.Text.Json;
using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>
/// <c>LOGS</c>: the logs of a project's containers (<c>docker logs</c> for each, with tail, since and timestamps), as the
/// job's output, each line prefixed with its container's name when there are several. With follow_seconds, new lines
/// stream for that long. The values of the project's secret variables are redacted.
/// </summary>
public sealed class LogsHandler(ComposeCli compose, ProjectContainers projectContainers, ProjectFolders folders) : ICommandHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> CommandTypes { get; } = [Contracts.CommandTypes.Logs];

    /// <inheritdoc />
    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        var payload = context.ReadPayload(CommandPayloadJson.Logs);
        var projectName = payload.ProjectName;
        if (!ProjectNames.IsValid(projectName)) throw new CommandPayloadException($"project_name must match {ProjectNames.Pattern}");
        var tail = Math.Clamp(payload.Tail ?? 100, 0, 10_000);
        var since = payload.Since;
        if (since is not null && !LogsSince.IsValid(since)) throw new CommandPayloadException($"since must be {LogsSince.Description}");
        var service = payload.Service;
        if (service is not null && !ProjectNames.IsValid(service)) throw new CommandPayloadException("service is not a compose service name");
        var timestamps = payload.Timestamps == true;
        var followSeconds = payload.FollowSeconds is { } seconds ? Math.Clamp(seconds, 1, 3600) : 0;

        IReadOnlyList<ContainerInfo> containers;
        try
        {
            containers = await projectContainers.ListAsync(projectName, context.CancellationToken, service);
        }
        catch (InvalidOperationException e)
        {
            return CommandResult.Failure(e.Message);
        }
        if (containers.Count == 0)
            return CommandResult.Failure(service is null
                ? $"project '{projectName}' has no containers on this agent"
                : $"project '{projectName}' has no containers of service '{service}' on this agent");
        folders.RegisterSecrets(context, projectName);

        List<string> arguments = ["logs", "--tail", tail.ToString(CultureInfo.InvariantCulture)];
        if (since is not null) arguments.AddRange(["--since", since]);
        if (timestamps) arguments.Add("--timestamps");
        if (followSeconds > 0) arguments.Add("--follow");

        using var follow = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        if (followSeconds > 0) follow.CancelAfter(TimeSpan.FromSeconds(followSeconds));
        async Task<ProcessResult?> ReadAsync(ContainerInfo container)
        {
            var prefix = containers.Count > 1 ? container.Name + " | " : "";
            try
            {
                return await ProcessRunner.RunAsync(compose.DockerPath, [.. arguments, container.Id],
                    line => context.WriteOutputLineAsync(prefix + line), follow.Token);
            }
            catch (OperationCanceledException) when (follow.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
            {
                return null; // the follow time is up
            }
        }

        // Followed logs interleave as they come; a snapshot keeps each container's lines together.
        var results = new List<ProcessResult?>();
        if (followSeconds > 0) results.AddRange(await Task.WhenAll(containers.Select(ReadAsync)));
        else foreach (var container in containers) results.Add(await ReadAsync(container));

        var failed = results.FirstOrDefault(r => r is { ExitCode: not 0 });
        return failed is null
            ? CommandResult.Success()
            : CommandResult.Failure($"docker logs exited with code {failed.ExitCode}: {string.Join('\n', failed.StandardErrorTail)}");
    }
}
