using System.Text;
using System.Text.RegularExpressions;

namespace InstaDeploy.Cli.Commands.Deploy;

/// <summary>The compose file to deploy and the project it is for.</summary>
public static partial class ComposeInput
{
    /// <summary>Larger files are refused before upload (the server's own limit, INSTADEPLOY_MAX_COMPOSE_BYTES, may be lower).</summary>
    public const int MaxBytes = 16 * 1024 * 1024;

    public static async Task<byte[]> ReadAsync(FileInfo file, CancellationToken cancellationToken)
    {
        if (!file.Exists) throw CliException.Usage($"No compose file at {file.FullName}.");
        if (file.Length > MaxBytes) throw CliException.Usage($"{file.Name} is {file.Length} bytes, over {MaxBytes / (1024 * 1024)} MiB.");
        try
        {
            return await File.ReadAllBytesAsync(file.FullName, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliException.Usage($"Cannot read {file.FullName}: {e.Message}");
        }
    }

    /// <summary>--project, else the compose file's top-level <c>name:</c>, else its folder's name (as compose does).</summary>
    public static string ProjectName(string? given, FileInfo file, byte[] compose)
    {
        var source = "--project";
        var name = given;
        if (name is null && TopLevelName().Match(Encoding.UTF8.GetString(compose)) is { Success: true } match)
        {
            name = match.Groups[1].Value;
            source = $"the name: in {file.Name}";
        }
        if (name is null)
        {
            name = file.Directory?.Name ?? "";
            source = $"the folder name of {file.Name}";
        }
        if (!ProjectPattern().IsMatch(name))
            throw CliException.Usage($"'{name}' (from {source}) is not a valid project name: use 1-64 letters, digits, '_' or '-', e.g. --project my-app.");
        return name;
    }

    [GeneratedRegex(@"^name:[ \t]*[""']?([^\s""'#]+)[""']?[ \t]*(?:#.*)?$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex TopLevelName();

    [GeneratedRegex(@"^[a-zA-Z0-9_-]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex ProjectPattern();
}
