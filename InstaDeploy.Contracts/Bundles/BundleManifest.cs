using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace InstaDeploy.Contracts.Bundles;

/// <summary>
/// What a bundle says it is: <c>instadeploy-bundle.json</c>, the first entry of every bundle (an agent release or a
/// plugin package). It is inside the signed file, so the signature covers it too.
/// </summary>
public sealed partial record BundleManifest
{
    /// <summary>The manifest's name in the archive, always its first entry.</summary>
    public const string FileName = "instadeploy-bundle.json";

    /// <summary>An agent release.</summary>
    public const string KindAgent = "agent";
    /// <summary>A plugin package.</summary>
    public const string KindPlugin = "plugin";

    /// <summary>The architecture of a plugin package: its assemblies are IL and run on any agent.</summary>
    public const string AnyArchitecture = "any";

    /// <summary><c>agent</c> or <c>plugin</c>.</summary>
    [JsonPropertyName("kind")]
    public required string Kind { get; init; }

    /// <summary>An agent release: <c>InstaDeploy.Agent</c>; a plugin package: the plugin's name (its folder and assembly name).</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>See <see cref="IsValidVersion"/>.</summary>
    [JsonPropertyName("version")]
    public required string Version { get; init; }

    /// <summary>The agent's platform in the seed's spelling (<c>linux-amd64</c>, <c>linux-arm64</c>), or <c>any</c> for a plugin.</summary>
    [JsonPropertyName("architecture")]
    public required string Architecture { get; init; }

    /// <summary>An agent release: the program to run, relative to the bundle's root (<c>InstaDeploy.Agent</c>).</summary>
    [JsonPropertyName("entry")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Entry { get; init; }

    /// <summary>1-64 of letters, digits, '.', '_', '+', '-', starting with a letter or digit: safe as a folder name.</summary>
    public static bool IsValidVersion(string? version) => version is not null && VersionPattern().IsMatch(version) && version is not ("." or "..");

    /// <summary>A plugin name as the agent's plugins folder takes it.</summary>
    public static bool IsValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>The architectures bundles are built for, in the seed's spelling, by .NET runtime identifier.</summary>
    public static readonly IReadOnlyDictionary<string, string> ArchitectureByRuntime = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["linux-x64"] = "linux-amd64",
        ["linux-arm64"] = "linux-arm64",
    };

    /// <summary>Why the manifest cannot be used, or null.</summary>
    public string? Problem()
    {
        if (Kind is not (KindAgent or KindPlugin)) return $"kind '{Shown(Kind)}' is neither {KindAgent} nor {KindPlugin}";
        if (!IsValidVersion(Version)) return $"version '{Shown(Version)}' is not 1-64 letters, digits, '.', '_', '+' or '-'";
        if (!IsValidName(Name)) return $"name '{Shown(Name)}' is not 1-100 letters, digits, '.', '_' or '-'";
        if (Kind == KindAgent)
        {
            if (!ArchitectureByRuntime.Values.Contains(Architecture)) return $"architecture '{Shown(Architecture)}' is not one of {string.Join(", ", ArchitectureByRuntime.Values)}";
            if (Entry is null || !IsValidName(Entry)) return "an agent release needs an entry (the program's file name, e.g. InstaDeploy.Agent)";
        }
        else if (Architecture != AnyArchitecture) return $"a plugin package's architecture must be '{AnyArchitecture}'";
        return null;
    }

    /// <summary>The manifest as the bundle holds it.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, BundleJsonContext.Default.BundleManifest);

    /// <summary>Reads a manifest; throws <see cref="BundleException"/> when it is not one.</summary>
    public static BundleManifest Parse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8, BundleJsonContext.Default.BundleManifest) ?? throw new BundleException("the manifest is null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new BundleException($"the manifest is not valid JSON of the expected shape: {e.Message}");
        }
    }

    private static string Shown(string? value) => AgentLabels.Shown(value ?? "");

    [GeneratedRegex(@"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}

/// <summary>A bundle that cannot be used: the message says why.</summary>
public sealed class BundleException(string message) : Exception(message);

[JsonSerializable(typeof(BundleManifest))]
internal sealed partial class BundleJsonContext : JsonSerializerContext;
