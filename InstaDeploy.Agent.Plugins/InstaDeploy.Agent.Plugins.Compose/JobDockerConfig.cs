using System.Text;
using System.Text.Json.Nodes;
using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>
/// A private <c>DOCKER_CONFIG</c> folder for one job, holding the registry logins its command carries: owner-only
/// (0700, <c>config.json</c> 0600), outside the projects folder, removed when the job is done (<see cref="DisposeAsync"/>).
/// Only that job's docker and compose processes get it, through their environment; the host's own docker config (its
/// logins, plugins, contexts) is never changed. The host's settings are carried over: its <c>config.json</c> without a
/// credential store (which would hide the logins here), and links to its <c>cli-plugins</c> (compose v2) and <c>contexts</c>.
/// Every password, and its base64 form, is registered as a secret of the job, so no output can show it.
/// </summary>
public sealed class JobDockerConfig : IAsyncDisposable
{
    /// <summary>Where Docker Hub's logins go in config.json.</summary>
    public const string DockerHubKey = "https://index.docker.io/v1/";

    private JobDockerConfig(string folder) => Folder = folder;

    /// <summary>The folder (the value of <c>DOCKER_CONFIG</c>).</summary>
    public string Folder { get; }

    /// <summary>The environment the job's docker and compose processes get on top of the allow-listed one.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["DOCKER_CONFIG"] = Folder };

    /// <summary>A folder with <paramref name="logins"/>, or null when there are none (the host's own config is then used as it is).</summary>
    /// <exception cref="CommandPayloadException">A login is malformed.</exception>
    public static async Task<JobDockerConfig?> CreateAsync(IReadOnlyList<RegistryAuth>? logins, CommandContext context)
    {
        if (logins is not { Count: > 0 }) return null;
        foreach (var login in logins)
        {
            if (login is null || string.IsNullOrEmpty(login.Host) || string.IsNullOrEmpty(login.Username) || login.Password is null)
                throw new CommandPayloadException($"each \"{DeployPayload.RegistryAuths}\" entry must be {{\"host\", \"username\", \"password\"}}");
            context.AddSecret(login.Password);
            context.AddSecret(AuthOf(login));
        }
        var folder = Path.Combine(Path.GetTempPath(), $"instadeploy-docker-{Guid.NewGuid():N}");
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
        else Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var config = new JobDockerConfig(folder);
        try
        {
            var host = HostConfigFolder();
            var json = ReadHostConfig(host);
            json.Remove("credsStore");
            var helpers = json["credHelpers"] as JsonObject;
            var auths = json["auths"] as JsonObject ?? [];
            json["auths"] = auths;
            foreach (var login in logins)
            {
                var key = login.Host == "docker.io" ? DockerHubKey : login.Host;
                helpers?.Remove(key);
                auths[key] = new JsonObject { ["auth"] = AuthOf(login) };
            }
            await ProjectFolders.WriteAtomicallyAsync(Path.Combine(folder, "config.json"), Encoding.UTF8.GetBytes(json.ToJsonString()), ownerOnly: true, context.CancellationToken, durable: false);
            foreach (var shared in new[] { "cli-plugins", "contexts" })
                if (Directory.Exists(Path.Combine(host, shared))) Directory.CreateSymbolicLink(Path.Combine(folder, shared), Path.Combine(host, shared));
            return config;
        }
        catch
        {
            await config.DisposeAsync();
            throw;
        }
    }

    private static string AuthOf(RegistryAuth login) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{login.Username}:{login.Password}"));

    /// <summary>The docker config folder the host's own docker uses: DOCKER_CONFIG, else ~/.docker.</summary>
    private static string HostConfigFolder() =>
        ProcessRunner.ChildEnvironment().TryGetValue("DOCKER_CONFIG", out var configured) && configured.Length > 0
            ? configured
            : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".docker");

    private static JsonObject ReadHostConfig(string folder)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))) as JsonObject ?? [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return []; // none, or unreadable: the job's own logins are all it needs
        }
    }

    /// <summary>Removes the folder and the logins in it.</summary>
    public ValueTask DisposeAsync()
    {
        try
        {
            // The links to the host's plugins and contexts go, not what they point to.
            foreach (var link in Directory.EnumerateFileSystemEntries(Folder))
            {
                var info = new FileInfo(link);
                if (info.LinkTarget is not null || File.Exists(link)) File.Delete(link);
                else Directory.Delete(link, recursive: true);
            }
            Directory.Delete(Folder);
        }
        catch (DirectoryNotFoundException)
        {
        }
        return ValueTask.CompletedTask;
    }
}
