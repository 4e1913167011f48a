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
