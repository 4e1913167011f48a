namespace InstaDeploy.Compose;

/// <summary>
/// Judges a host path a compose file names (a bind source, a file compose reads, a build context): inside the project
/// folder, or under an allowed host path, and never the project's compose file or its <c>.instadeploy/</c> folder (a
/// container that can write those can change what a later deploy or rollback runs). On the agent, where the project
/// folder is known, symbolic links are resolved as the kernel would resolve them at mount time: a container that can
/// write its project folder can plant <c>data/r -&gt; /</c>, and <c>./data/r</c> is then the host's root.
/// </summary>
public sealed class HostPaths
{
    // On the control plane the project folder is not known: relative paths are judged against this stand-in, which no
    // allowed path can contain (it holds a NUL).
    private const string UnknownProjectFolder = "/\0project";

    private readonly PolicySettings _settings;
    private readonly string _project;
    private readonly bool _onAgent;
    private readonly string _composeFileName;

    /// <param name="settings">The allow-list.</param>
    /// <param name="projectFolder">The project folder on the agent (symbolic links are then resolved), or null on the control plane.</param>
    /// <param name="composeFileName">The compose file's name in the project folder.</param>
    public HostPaths(PolicySettings settings, string? projectFolder, string composeFileName = "docker-compose.yml")
    {
        _settings = settings;
        _onAgent = projectFolder is not null;
        _project = projectFolder is null ? UnknownProjectFolder : Normalize(projectFolder);
        _composeFileName = composeFileName;
    }

    /// <summary>The project's folder of agent-side state.</summary>
    public const string StateFolderName = ".instadeploy";

    /// <summary>Why compose may not use <paramref name="path"/> (relative to the project folder), or null when it may.</summary>
    /// <param name="path">The path as written (or as compose resolved it).</param>
    /// <param name="mounted">Whether a container gets it mounted (a bind mount): then it may not be, or hold, the
    /// project's compose file or <c>.instadeploy/</c>, which a container could rewrite. What compose only reads (an
    /// env_file, a build context) may be the project folder itself.</param>
    public string? Problem(string path, bool mounted = true)
    {
        if (path.Length == 0) return "an empty path";
        if (path.StartsWith('~')) return $"'{path}', in a home folder, outside the project folder";
        var lexical = Normalize(path.StartsWith('/') ? path : _project + "/" + path);
        if (Judge(lexical, $"'{path}'", path.StartsWith('/'), mounted) is { } problem) return problem;
        if (!_onAgent) return null;
        var real = RealPath(lexical);
        if (real is null) return $"'{path}', whose symbolic links do not resolve";
        return real == lexical ? null : Judge(real, $"'{path}' (through a symbolic link: '{real}')", absolute: true, mounted);
    }

    /// <summary>Whether <paramref name="source"/> names a remote source (a URL, or git's user@host:path).</summary>
    public static bool IsRemote(string source) =>
        source.Contains("://", StringComparison.Ordinal)
        || source.StartsWith("git@", StringComparison.Ordinal)
        || source.StartsWith("github.com/", StringComparison.OrdinalIgnoreCase)
        || System.Text.RegularExpressions.Regex.IsMatch(source, @"^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+:");

    private string? Judge(string full, string shown, bool absolute, bool mounted)
    {
        var inProject = IsUnderOrSelf(full, _project);
        if (inProject || (_onAgent && IsUnderOrSelf(_project, full)))
        {
            if (!mounted && inProject) return null;
            if (!inProject || full == _project || full == _project + "/" + _composeFileName || IsUnderOrSelf(full, _project + "/" + StateFolderName))
                return $"{shown}, which exposes the project's compose file or its {StateFolderName} folder";
            return null;
        }
        if (!_onAgent && !absolute) return $"{shown}, which leaves the project folder";
        if (_settings.BindAllow.Any(allowed => IsUnderOrSelf(full, allowed))) return null;
        return _settings.BindAllow.Count == 0
            ? $"{shown}, outside the project folder, and no host path is allowed ({_settings.BindAllowSetting})"
            : $"{shown}, outside the project folder and the allowed host paths ({string.Join(", ", _settings.BindAllow)}: {_settings.BindAllowSetting})";
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="folder"/> or inside it (both normalized).</summary>
    private static bool IsUnderOrSelf(string path, string folder) =>
        folder == "/" || path == folder || path.StartsWith(folder + "/", StringComparison.Ordinal);

    /// <summary>An absolute path with '.', '..' and repeated '/' taken out, as the kernel reads it (no symbolic links).</summary>
    public static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Replace('\\', '/').Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..")
            {
                if (parts.Count > 0) parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        return "/" + string.Join('/', parts);
    }

    /// <summary>The path with every symbolic link resolved (a missing tail is kept as written), or null past 40 links.</summary>
    internal static string? RealPath(string path)
    {
        var pending = new Queue<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var current = "/";
        var links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Dequeue();
            if (part == ".") continue;
            if (part == "..")
            {
                current = current == "/" ? "/" : Path.GetDirectoryName(current) ?? "/";
                continue;
            }
            var next = current == "/" ? "/" + part : current + "/" + part;
            string? target;
            try
            {
                target = new FileInfo(next).LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                target = null;
            }
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++links > 40) return null;
            var rest = pending.ToArray();
            pending = new Queue<string>(target.Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(rest));
            if (target.StartsWith('/')) current = "/";
        }
        return current;
    }
}
