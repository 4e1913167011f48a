using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>
/// <c>DEPLOY_COMPOSE</c>: writes the compose file (and the project's owner-only <c>.env</c>), runs <c>up -d
/// --remove-orphans</c>, waits for the containers to be running and healthy, and keeps the files in the project's history.
/// With rollback_on_failure, a failed deploy restores the last successful revision from that history. When the deploy
/// policy applies (AGENT_POLICY, or the command's policy), every <c>up</c> is preceded by its check (<see cref="DeployPolicyGate"/>).
/// </summary>
public sealed class DeployComposeHandler(ComposeCli compose, ProjectFolders folders, ProjectHistory history, HealthGate healthGate, DeployPolicyGate policy) : ICommandHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> CommandTypes { get; } = [Contracts.CommandTypes.DeployCompose];

    /// <inheritdoc />
    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        var payload = context.ReadPayload(CommandPayloadJson.Deploy);
        var projectName = payload.ProjectName;
        folders.FolderOf(projectName); // checks the name, and that it stays inside the projects folder
        byte[] content;
        try
        {
            content = Convert.FromBase64String(payload.ComposeFileBase64);
        }
        catch (FormatException)
        {
            return CommandResult.Failure("compose_file_base64 is not valid base64");
        }
        if (content.Length == 0) return CommandResult.Failure("compose_file_base64 decodes to an empty file");
        var policySettings = policy.SettingsFor(context);
        if (folders.ProjectSharingComposeName(projectName) is { } other)
            return CommandResult.Failure(
                $"project '{projectName}' would be the same compose project ('{ComposeCli.ComposeProjectName(projectName)}') as project '{other}', which is deployed on this agent; use a name that differs from it in more than letter case or a leading '-'/'_'");
        var variables = ProjectVariables.Checked(payload.Env);
        var healthWait = TimeSpan.FromSeconds(Math.Clamp(payload.HealthWaitSeconds ?? DeployPayload.DefaultHealthWaitSeconds, 0, DeployPayload.MaxHealthWaitSeconds));
        var rollbackOnFailure = payload.RollbackOnFailure == true;
        var revision = payload.Revision is { } n
            ? n.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : $"local-{DateTimeOffset.UtcNow:yyyyMMddHHmmssfff}";

        folders.RegisterSecrets(context, projectName); // the values deployed before, should an error quote the old .env
        foreach (var secret in (variables ?? []).Where(v => v.Secret)) context.AddSecret(secret.Value);
        if (policySettings is not null)
        {
            // Before anything is written: a refused deploy leaves the project as it was.
            var violations = await policy.CheckAsync(projectName, content, folders.EnvFileAfter(projectName, variables), policySettings, context);
            if (violations.Count > 0)
                return CommandResult.Failure($"this agent's deploy policy ({policy.Source}) refuses the compose file: " + string.Join("; ", violations));
        }
        var composeFile = await folders.WriteComposeFileAsync(projectName, content, context.CancellationToken);
        await context.WriteOutputLineAsync($"Wrote {composeFile} ({content.Length} bytes)");
        if (variables is not null)
        {
            await folders.WriteVariablesAsync(projectName, variables, context.CancellationToken);
            if (variables.Count > 0)
                await context.WriteOutputLineAsync($"Wrote {ProjectFolders.EnvFileName} (owner-only) with {variables.Count} variable(s): {string.Join(", ", variables.Select(v => v.Secret ? v.Name + " (secret)" : v.Name))}");
        }
        var entry = await history.RecordAsync(projectName, revision, context.CancellationToken);

        // The registry logins of this job live in a folder of its own, outside the project, for as long as it runs.
        await using var dockerConfig = await JobDockerConfig.CreateAsync(payload.RegistryAuths, context);
        var pull = payload.Pull == true;
        var failure = await UpAsync(projectName, composeFile, revision, healthWait, pull, dockerConfig, context);
        await history.FinishAsync(projectName, entry, failure is null, context.CancellationToken);
        if (failure is null) return CommandResult.Success($"Deployment successful (revision {revision})");

        await context.WriteOutputLineAsync($"Deploy of revision {revision} failed: {failure}");
        if (!rollbackOnFailure) return CommandResult.Failure(failure);
        if (history.LastSucceeded(projectName, entry) is not { } previous)
        {
            await context.WriteOutputLineAsync($"rollback_on_failure: no earlier successful revision of '{projectName}' on this agent, so there is nothing to roll back to");
            return CommandResult.Failure($"{failure}; no earlier successful revision to roll back to");
        }

        await context.WriteOutputLineAsync($"rollback_on_failure: rolling back to revision {previous.Revision} (deployed {previous.DeployedAt:u})");
        if (policySettings is not null)
        {
            // The history is on disk, where a container that could write the project folder could have changed it.
            var saved = await ProjectHistory.FilesOfAsync(previous, context.CancellationToken);
            var refused = await policy.CheckAsync(projectName, saved.ComposeFile, saved.DotEnv, policySettings, context);
            if (refused.Count > 0)
            {
                var why = $"the deploy policy ({policy.Source}) refuses revision {previous.Revision}: {string.Join("; ", refused)}";
                await context.WriteOutputLineAsync($"rollback_on_failure: not rolled back: {why}");
                return CommandResult.Failure($"{failure}; not rolled back to revision {previous.Revision}: {why}");
            }
        }
        await history.RestoreAsync(projectName, previous, context.CancellationToken);
        folders.RegisterSecrets(context, projectName);
        var rollbackFailure = await UpAsync(projectName, composeFile, previous.Revision, healthWait, pull: false, dockerConfig, context);
        var data = System.Text.Json.JsonSerializer.SerializeToElement(new Dictionary<string, object?>
        {
            [DeployPayload.RolledBackTo] = int.TryParse(previous.Revision, out var back) ? back : null,
            [DeployPayload.RollbackSucceeded] = rollbackFailure is null,
        });
        if (rollbackFailure is null)
        {
            await history.FinishAsync(projectName, previous with { DeployedAt = DateTimeOffset.UtcNow, Seq = history.NextSeq(projectName) }, succeeded: true, context.CancellationToken);
            await context.WriteOutputLineAsync($"Rolled back to revision {previous.Revision}: it is running again");
            return CommandResult.Failure($"{failure}; rolled back to revision {previous.Revision}, which is running again", data);
        }
        await context.WriteOutputLineAsync($"Rollback to revision {previous.Revision} failed too: {rollbackFailure}");
        return CommandResult.Failure($"{failure}; the rollback to revision {previous.Revision} failed too: {rollbackFailure}", data);
    }

    /// <summary>Runs <c>pull</c> (when asked), then <c>up -d --remove-orphans</c> with every container labelled with
    /// <paramref name="revision"/>, then the health gate; null when the project came up, else why not.</summary>
    private async Task<string?> UpAsync(string projectName, string composeFile, string revision, TimeSpan healthWait, bool pull, JobDockerConfig? dockerConfig, CommandContext context)
    {
        var options = new ProcessOptions { WorkingDirectory = Path.GetDirectoryName(composeFile), Environment = dockerConfig?.Environment };
        if (pull)
        {
            var (pullProgram, pullArguments) = await compose.CommandAsync(projectName, composeFile, context.CancellationToken);
            pullArguments.Add("pull");
            var pulled = await ProcessRunner.RunAsync(pullProgram, pullArguments, context.WriteOutputLineAsync, options, context.CancellationToken);
            if (pulled.ExitCode != 0)
                return context.Redact($"compose pull exited with code {pulled.ExitCode}: {string.Join('\n', pulled.StandardErrorTail)}");
        }
        var overrides = new List<string>();
        if (RevisionLabels.OverrideFor(await File.ReadAllBytesAsync(composeFile, context.CancellationToken), revision) is { } labels)
        {
            var labelFile = Path.Combine(folders.StateFolderOf(projectName), RevisionLabels.FileName);
            await ProjectFolders.WriteAtomicallyAsync(labelFile, labels, ownerOnly: true, context.CancellationToken, durable: false);
            overrides.Add(labelFile);
        }
        var (fileName, arguments) = await compose.CommandAsync(projectName, composeFile, context.CancellationToken, [.. overrides]);
        arguments.AddRange(["up", "-d", "--remove-orphans"]);
        var result = await ProcessRunner.RunAsync(fileName, arguments, context.WriteOutputLineAsync, options, context.CancellationToken);
        if (result.ExitCode != 0)
        {
            var error = string.Join('\n', result.StandardErrorTail);
            return $"compose up exited with code {result.ExitCode}: {error}" + (error.Contains("non-overlapping IPv4 address pool", StringComparison.Ordinal)
                ? " (the Docker engine has no network address left for a new project: raise its default-address-pools in /etc/docker/daemon.json, see the README; HEALTH_CHECK reports how many networks are left)"
                : "");
        }
        if (healthWait == TimeSpan.Zero) return null;
        try
        {
            return await healthGate.WaitAsync(projectName, healthWait, context);
        }
        catch (InvalidOperationException e)
        {
            return $"the containers could not be checked: {e.Message}"; // docker ps/inspect failed
        }
    }
}
