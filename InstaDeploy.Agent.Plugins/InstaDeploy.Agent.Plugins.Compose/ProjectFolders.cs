namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>Where a project's files live: <c>&lt;projects&gt;/&lt;project_name&gt;/docker-compose.yml</c>, never outside the projects folder.</summary>
public sealed class ProjectFolders(IAgentInfo agent)
{
    /// <summary>The compose file's name inside a project folder.</summary>
    public const string ComposeFileName = "docker-compose.yml";

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

    /// <summary>Writes the compose file atomically: a temporary file in the same folder, then a rename over the old one,
    /// so a crash never leaves a half-written compose file.</summary>
    public async Task<string> WriteComposeFileAsync(string projectName, byte[] content, CancellationToken cancellationToken)
    {
        var folder = FolderOf(projectName);
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, ComposeFileName);
        var temporary = Path.Combine(folder, $".{ComposeFileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
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
        return target;
    }
}
