using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>Where a project's files live: <c>&lt;projects&gt;/&lt;project_name&gt;/docker-compose.yml</c>, never outside the projects folder.</summary>
public sealed class ProjectFolders(IAgentInfo agent)
{
    /// <summary>The compose file's name inside a project folder.</summary>
    public const string ComposeFileName = "docker-compose.yml";

    /// <summary>The project's variables, beside the compose file, owner-only: compose reads it for <c>${NAME}</c>.</summary>
    public const string EnvFileName = ".env";

    /// <summary>The agent's own files of a project (owner-only): which variables are secret, and the revision history.</summary>
    public const string StateFolderName = ".instadeploy";

    /// <summary>Names of the secret variables in <see cref="EnvFileName"/>, one per line, so their values can be redacted later.</summary>
    public const string SecretNamesFileName = "secret-names";

    /// <summary>The project's folder, after checking that it resolves inside the projects folder.</summary>
    /// <exception cref="CommandPayloadException">The name is not a valid project name or escapes the projects folder.</exception>
    public string FolderOf(string projectName)
    {
        if (!Contracts.ProjectNames.IsValid(projectName))
            throw new CommandPayloadException($"project_name must match {Contracts.ProjectNames.Pattern}");
        var root = Path.GetFullPath(agent.ProjectsDirectory);
        var folder = Path.GetFullPath(Path.Combine(root, projectName));
        var rootWithSeparator = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (!folder.StartsWith(rootWithSeparator, StringComparison.Ordinal) || folder.Length == rootWithSeparator.Length)
            throw new CommandPayloadException($"project_name '{projectName}' does not resolve inside the projects folder");
        return folder;
    }

    /// <summary>
    /// Another project on this agent that maps to the same compose project name (e.g. "App" and "app"), or null.
    /// Compose would treat the two as one project, so deploying the second would take over the first's containers.
    /// </summary>
    public string? ProjectSharingComposeName(string projectName)
    {
        var root = Path.GetFullPath(agent.ProjectsDirectory);
        if (!Directory.Exists(root)) return null;
        var composeName = ComposeCli.ComposeProjectName(projectName);
        return Directory.GetDirectories(root)
            .Select(Path.GetFileName)
            .FirstOrDefault(other => other != projectName
                && Contracts.ProjectNames.IsValid(other)
                && File.Exists(Path.Combine(root, other!, ComposeFileName))
                && ComposeCli.ComposeProjectName(other!) == composeName);
    }

    /// <summary>The path of the project's compose file.</summary>
    public string ComposeFileOf(string projectName) => Path.Combine(FolderOf(projectName), ComposeFileName);

    /// <summary>The agent's state folder of the project (created owner-only).</summary>
    public string StateFolderOf(string projectName)
    {
        var folder = Path.Combine(FolderOf(projectName), StateFolderName);
        CreateOwnerOnlyDirectory(folder);
        return folder;
    }

    /// <summary>Writes the compose file atomically: a temporary file in the same folder, then a rename over the old one,
    /// so a crash never leaves a half-written compose file.</summary>
    public async Task<string> WriteComposeFileAsync(string projectName, byte[] content, CancellationToken cancellationToken)
    {
        var folder = FolderOf(projectName);
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, ComposeFileName);
        await WriteAtomicallyAsync(target, content, ownerOnly: false, cancellationToken);
        return target;
    }

    /// <summary>
    /// Writes the project's <c>.env</c> (owner-only, 0600) and the names of its secret variables; with no variables,
    /// removes both, so a variable deleted on the control plane does not linger.
    /// </summary>
    public async Task WriteVariablesAsync(string projectName, IReadOnlyList<ProjectVariable> variables, CancellationToken cancellationToken)
    {
        var envFile = Path.Combine(FolderOf(projectName), EnvFileName);
        var secretNames = Path.Combine(StateFolderOf(projectName), SecretNamesFileName);
        if (variables.Count == 0)
        {
            // Only a .env this agent wrote (its secret-names file beside it says so): one an operator placed by hand stays.
            if (File.Exists(secretNames)) File.Delete(envFile);
            File.Delete(secretNames);
            return;
        }
        // The names first: a reader (LOGS) that finds a new .env then always knows which of its values to redact.
        var names = string.Concat(variables.Where(v => v.Secret).Select(v => v.Name + "\n"));
        await WriteAtomicallyAsync(secretNames, System.Text.Encoding.UTF8.GetBytes(names), ownerOnly: true, cancellationToken);
        await WriteAtomicallyAsync(envFile, EnvFileOf(variables), ownerOnly: true, cancellationToken);
    }

    private static byte[] EnvFileOf(IReadOnlyList<ProjectVariable> variables) =>
        System.Text.Encoding.UTF8.GetBytes(string.Concat(variables.Select(v => Contracts.EnvironmentVariables.EnvFileLine(v.Name, v.Value) + "\n")));

    /// <summary>What the project's <c>.env</c> holds once <see cref="WriteVariablesAsync"/> has written
    /// <paramref name="variables"/> (null: the command carried none, and the .env stays as it is), without writing it.</summary>
    public byte[] EnvFileAfter(string projectName, IReadOnlyList<ProjectVariable>? variables)
    {
        var envFile = Path.Combine(FolderOf(projectName), EnvFileName);
        if (variables is { Count: > 0 }) return EnvFileOf(variables);
        var agentWroteIt = File.Exists(Path.Combine(FolderOf(projectName), StateFolderName, SecretNamesFileName));
        return File.Exists(envFile) && (variables is null || !agentWroteIt) ? File.ReadAllBytes(envFile) : [];
    }

    /// <summary>Registers every secret value of the project known here (now and in its kept history) with the job, so
    /// compose errors that quote the .env, or containers still running an older revision, cannot show them.</summary>
    public void RegisterSecrets(CommandContext context, string projectName)
    {
        foreach (var secret in SecretValuesOf(projectName)) context.AddSecret(secret);
    }

    /// <summary>The values of the project's secret variables: as deployed now, and in every revision kept in its history.</summary>
    public IReadOnlyList<string> SecretValuesOf(string projectName)
    {
        var folder = FolderOf(projectName);
        var places = new List<(string Env, string Names)> { (Path.Combine(folder, EnvFileName), Path.Combine(folder, StateFolderName, SecretNamesFileName)) };
        var history = Path.Combine(folder, StateFolderName, "history");
        if (Directory.Exists(history))
            places.AddRange(Directory.GetDirectories(history).Select(d => (Path.Combine(d, EnvFileName), Path.Combine(d, SecretNamesFileName))));
        var values = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (envFile, secretNames) in places)
        {
            try
            {
                if (!File.Exists(secretNames) || !File.Exists(envFile)) continue;
                var secret = File.ReadAllLines(secretNames).Where(n => n.Length > 0).ToHashSet(StringComparer.Ordinal);
                values.UnionWith(ProjectVariables.ParseEnvFile(File.ReadAllText(envFile)).Where(v => secret.Contains(v.Name)).Select(v => v.Value));
            }
            catch (IOException)
            {
                // a history entry pruned while we read: its secrets are no longer on this agent
            }
        }
        return [.. values];
    }

    /// <summary>A temporary file in the same folder, then a rename over the old one: a crash never leaves a half-written file.
    /// <paramref name="durable"/> flushes it to disk first (the files compose runs from); the history, a convenience for
    /// rollbacks, is not worth a disk flush on every deploy's path.</summary>
    internal static async Task WriteAtomicallyAsync(string target, byte[] content, bool ownerOnly, CancellationToken cancellationToken, bool durable = true)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = durable ? FileOptions.WriteThrough : FileOptions.None };
        if (ownerOnly && !OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            await using (var stream = new FileStream(temporary, options))
            {
                await stream.WriteAsync(content, cancellationToken);
                await stream.FlushAsync(cancellationToken);
            }
            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    internal static void CreateOwnerOnlyDirectory(string folder)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
        else Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
