using System.Text.Json.Serialization;

namespace InstaDeploy.Contracts;

/// <summary>
/// <c>UPDATE_AGENT</c>: which release to run. The agent downloads it from <see cref="DownloadPath"/> on the control plane
/// with its own key, and accepts it only if its size and SHA-256 are these, <see cref="Signature"/> verifies with the
/// agent's own public key (AGENT_UPDATE_PUBLIC_KEY: the control plane cannot sign), and its manifest names this version
/// and the agent's architecture.
/// </summary>
public sealed record UpdateAgentPayload
{
    /// <summary>The release's version.</summary>
    [JsonPropertyName("version")]
    public required string Version { get; init; }

    /// <summary>The release's platform (<c>linux-amd64</c>, <c>linux-arm64</c>).</summary>
    [JsonPropertyName("architecture")]
    public required string Architecture { get; init; }

    /// <summary>The bundle file's SHA-256, lower-case hex.</summary>
    [JsonPropertyName("sha256")]
    public required string Sha256 { get; init; }

    /// <summary>The bundle file's size in bytes.</summary>
    [JsonPropertyName("size_bytes")]
    public required long SizeBytes { get; init; }

    /// <summary>The operator's signature of the file (base64 of DER ECDSA P-256 over its SHA-256).</summary>
    [JsonPropertyName("signature")]
    public required string Signature { get; init; }

    /// <summary>Path and query on the control plane's HTTP(S) address, e.g. <c>/agents/releases/1.2.0/bundle?architecture=linux-amd64</c>.</summary>
    [JsonPropertyName("download_path")]
    public required string DownloadPath { get; init; }

    /// <summary>How long the new version has, from its start, to connect and pass its health check before the launcher
    /// starts the previous version again.</summary>
    [JsonPropertyName("confirm_seconds")]
    public required int ConfirmSeconds { get; init; }
}

/// <summary><c>INSTALL_PLUGIN</c>: a signed plugin package to put into <c>plugins/&lt;name&gt;/</c>, checked as an update is.</summary>
public sealed record InstallPluginPayload
{
    /// <summary>The plugin's name: its folder and assembly name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The package's version.</summary>
    [JsonPropertyName("version")]
    public required string Version { get; init; }

    /// <summary>The package file's SHA-256, lower-case hex.</summary>
    [JsonPropertyName("sha256")]
    public required string Sha256 { get; init; }

    /// <summary>The package file's size in bytes.</summary>
    [JsonPropertyName("size_bytes")]
    public required long SizeBytes { get; init; }

    /// <summary>The operator's signature of the file (base64 of DER).</summary>
    [JsonPropertyName("signature")]
    public required string Signature { get; init; }

    /// <summary>Path and query on the control plane, e.g. <c>/agents/plugin-packages/Name/1.0.0/package</c>.</summary>
    [JsonPropertyName("download_path")]
    public required string DownloadPath { get; init; }
}

/// <summary><c>REMOVE_PLUGIN</c>: <c>{name}</c>, the plugin folder to remove (it unloads once its running jobs end).</summary>
public sealed record RemovePluginPayload
{
    /// <summary>The plugin's name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }
}

/// <summary>Serialization of the release payloads, source generated, shared by both sides.</summary>
public static class ReleasePayloadJson
{
    /// <summary>Type information for <see cref="UpdateAgentPayload"/>.</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<UpdateAgentPayload> UpdateAgent => ReleasePayloadJsonContext.Default.UpdateAgentPayload;

    /// <summary>Type information for <see cref="InstallPluginPayload"/>.</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<InstallPluginPayload> InstallPlugin => ReleasePayloadJsonContext.Default.InstallPluginPayload;

    /// <summary>Type information for <see cref="RemovePluginPayload"/>.</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<RemovePluginPayload> RemovePlugin => ReleasePayloadJsonContext.Default.RemovePluginPayload;
}

[JsonSerializable(typeof(UpdateAgentPayload))]
[JsonSerializable(typeof(InstallPluginPayload))]
[JsonSerializable(typeof(RemovePluginPayload))]
internal sealed partial class ReleasePayloadJsonContext : JsonSerializerContext;
