namespace InstaDeploy.ControlPlane.Releases;

/// <summary>
/// A signed bundle the control plane keeps: an agent release (one per version and architecture) or a plugin package
/// (one per name and version). The file is under the data folder's <c>bundles/</c>, named by its SHA-256; the row says
/// what it is and who signed it (the fingerprint of the public key its signature verified with).
/// </summary>
public sealed class BundleEntity
{
    /// <summary><c>agent</c> or <c>plugin</c> (<see cref="Contracts.Bundles.BundleManifest.KindAgent"/>).</summary>
    public required string Kind { get; set; }

    /// <summary><c>InstaDeploy.Agent</c> for a release, the plugin's name for a package.</summary>
    public required string Name { get; set; }
    public required string Version { get; set; }

    /// <summary><c>linux-amd64</c>, <c>linux-arm64</c>, or <c>any</c> for a plugin.</summary>
    public required string Architecture { get; set; }

    /// <summary>The file's SHA-256, lower-case hex (also its file name).</summary>
    public required string Sha256 { get; set; }
    public long SizeBytes { get; set; }

    /// <summary>The operator's signature as uploaded (base64 of DER), handed to agents, which check it themselves.</summary>
    public required string Signature { get; set; }

    /// <summary>The fingerprint of the public key it verified with.</summary>
    public required string KeyFingerprint { get; set; }
    public required string UploadedBy { get; set; }
    public DateTimeOffset UploadedAt { get; set; }
}
