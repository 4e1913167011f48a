using System.Text.Json;

namespace InstaDeploy.Cli.Configuration;

/// <summary>
/// Reads and writes <c>~/.config/instadeploy/config.json</c> and <c>credentials.json</c>: the folder owner-only (0700),
/// each file owner-only (0600) from the moment it exists, and replaced atomically so an interrupted write never leaves
/// half a file.
/// </summary>
public sealed class ConfigStore(CliEnvironment environment)
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyFolder = OwnerOnlyFile | UnixFileMode.UserExecute;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    public string Folder => environment.ConfigDirectory;

    public string ConfigPath => Path.Combine(Folder, "config.json");

    public string CredentialsPath => Path.Combine(Folder, "credentials.json");

    public CliConfig LoadConfig() => Load<CliConfig>(ConfigPath);

    public void SaveConfig(CliConfig config) => Save(ConfigPath, config);

    public CredentialsFile LoadCredentials()
    {
        WarnIfReadableByOthers(CredentialsPath);
        return Load<CredentialsFile>(CredentialsPath);
    }

    public void SaveCredentials(CredentialsFile credentials) => Save(CredentialsPath, credentials);

    private static T Load<T>(string path) where T : new()
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new T();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliException.Usage($"Cannot read {path}: {e.Message}");
        }
        try
        {
            return JsonSerializer.Deserialize<T>(text, Json) ?? new T();
        }
        catch (JsonException e)
        {
            throw CliException.Usage($"{path} is not valid ({e.Message}); fix it or remove it and add the contexts again.");
        }
    }

    private void Save(string path, object value)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(Folder);
        else
        {
            Directory.CreateDirectory(Folder, OwnerOnlyFolder);
            File.SetUnixFileMode(Folder, OwnerOnlyFolder); // also when it existed with wider rights
        }
        var temporary = Path.Combine(Folder, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnlyFile;
        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                JsonSerializer.Serialize(stream, value, Json);
                stream.Flush(flushToDisk: true);
            }
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temporary, OwnerOnlyFile);
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temporary);
            throw CliException.Usage($"Cannot write {path}: {e.Message}");
        }
    }

    private void WarnIfReadableByOthers(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path)) return;
        var mode = File.GetUnixFileMode(path);
        if ((mode & ~(OwnerOnlyFile | UnixFileMode.UserExecute)) != 0)
            environment.Error.WriteLine($"warning: {path} can be read by other users; run `chmod 600 {path}` (it holds API keys).");
    }
}
