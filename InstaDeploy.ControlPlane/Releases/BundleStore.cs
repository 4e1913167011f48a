using System.Security.Cryptography;
using InstaDeploy.Contracts.Bundles;
using InstaDeploy.ControlPlane.Audit;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Releases;

/// <summary>
/// The signed bundles the control plane keeps (agent releases and plugin packages): an upload is streamed to an
/// owner-only file with a bounded size while it is hashed, kept only if its signature verifies with one of
/// INSTADEPLOY_RELEASE_PUBLIC_KEYS and its manifest is of the kind asked for; then listed, handed to agents, deleted.
/// </summary>
public sealed class BundleStore(IDbContextFactory<InstaDeployDbContext> databases, IOptions<ControlPlaneOptions> options, AuditLog audit, TimeProvider time)
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private long MaxBytes => options.Value.MaxBundleMegabytes * 1024L * 1024;

    /// <summary>Reads, checks and keeps an uploaded bundle of <paramref name="kind"/>; or why not (nothing is kept).</summary>
    public async Task<(BundleEntity? Bundle, CommandRefusal? Refusal)> UploadAsync(string kind, Stream content, string? signatureText, AuditActor actor, CancellationToken cancellationToken)
    {
        var action = kind == BundleManifest.KindAgent ? AuditActions.AgentReleaseUpload : AuditActions.PluginPackageUpload;
        var (bundle, refusal) = await StoreAsync(kind, content, signatureText, actor, cancellationToken);
        if (refusal is not null)
            await audit.RecordAsync(actor, action, kind, AuditOutcomes.Refused, StatusOf(refusal), $"{refusal.Title}: {refusal.Detail}");
        return (bundle, refusal);
    }

    private async Task<(BundleEntity? Bundle, CommandRefusal? Refusal)> StoreAsync(string kind, Stream content, string? signatureText, AuditActor actor, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (string.IsNullOrWhiteSpace(settings.ReleasePublicKeys))
            return (null, CommandRefusal.Conflict("No release key configured",
                "Set INSTADEPLOY_RELEASE_PUBLIC_KEYS to the operator's public key (instadeploy-bundle-tool keygen writes it) and restart: the control plane keeps only bundles whose signature it can check."));
        if (string.IsNullOrWhiteSpace(signatureText) || BundleSignature.Decode(System.Text.Encoding.ASCII.GetBytes(signatureText)) is null)
            return (null, CommandRefusal.Invalid("X-Bundle-Signature", "is required: the content of the .sig file 'instadeploy-bundle-tool sign' wrote (base64)"));

        var folder = settings.BundlesPath;
        CreateOwnerOnlyFolder(folder);
        var upload = Path.Combine(folder, $".upload-{Guid.NewGuid():N}");
        try
        {
            byte[] hash;
            long size = 0;
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Options = FileOptions.Asynchronous };
            if (!OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = OwnerOnlyFile;
            await using (var file = new FileStream(upload, fileOptions))
            {
                using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[81920];
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    size += read;
                    if (size > MaxBytes)
                        return (null, CommandRefusal.TooLarge($"The bundle is larger than INSTADEPLOY_MAX_BUNDLE_MB ({settings.MaxBundleMegabytes} MiB)."));
                    hasher.AppendData(buffer.AsSpan(0, read));
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
                hash = hasher.GetHashAndReset();
                await file.FlushAsync(cancellationToken);
                if (size == 0) return (null, CommandRefusal.Invalid("body", "is empty: send the bundle file as the request body (curl --data-binary @bundle.tar.gz)"));

                var keys = BundleSignature.LoadPublicKeys(settings.ReleasePublicKeys);
                try
                {
                    var signature = System.Text.Encoding.ASCII.GetBytes(signatureText);
                    var signer = keys.FirstOrDefault(k => BundleSignature.Verify([k], hash, signature));
                    if (signer is null)
                        return (null, CommandRefusal.BadRequest("Signature does not verify",
                            $"The signature is not one of the {keys.Count} key(s) in INSTADEPLOY_RELEASE_PUBLIC_KEYS over this file (sha256 {Convert.ToHexStringLower(hash)}). Sign the file as uploaded with the operator's key: instadeploy-bundle-tool sign --private-key KEY FILE."));
                    file.Position = 0;
                    BundleManifest manifest;
                    try
                    {
                        manifest = await BundleArchive.ReadManifestAsync(file, cancellationToken);
                    }
                    catch (BundleException e)
                    {
                        return (null, CommandRefusal.BadRequest("Not a bundle", $"The file is signed but is not a bundle: {e.Message}"));
                    }
                    if (manifest.Kind != kind)
                        return (null, CommandRefusal.BadRequest("Wrong kind of bundle",
                            $"The bundle is a {manifest.Kind} ({manifest.Name} {manifest.Version}); upload it to {(manifest.Kind == BundleManifest.KindAgent ? "/agent-releases" : "/plugin-packages")}."));
                    var bundle = new BundleEntity
                    {
                        Kind = manifest.Kind, Name = manifest.Name, Version = manifest.Version, Architecture = manifest.Architecture,
                        Sha256 = Convert.ToHexStringLower(hash), SizeBytes = size, Signature = signatureText.Trim(),
                        KeyFingerprint = BundleSignature.Fingerprint(signer), UploadedBy = actor.Name, UploadedAt = time.GetUtcNow(),
                    };
                    return await KeepAsync(bundle, upload, actor, cancellationToken);
                }
                finally
                {
                    foreach (var key in keys) key.Dispose();
                }
            }
        }
        finally
        {
            File.Delete(upload); // moved away when kept
        }
    }

    private async Task<(BundleEntity? Bundle, CommandRefusal? Refusal)> KeepAsync(BundleEntity bundle, string upload, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        if (await db.Bundles.AsNoTracking().AnyAsync(b => b.Kind == bundle.Kind && b.Name == bundle.Name && b.Version == bundle.Version && b.Architecture == bundle.Architecture, cancellationToken))
            return (null, CommandRefusal.Conflict("Already uploaded",
                $"{Describe(bundle)} exists. A version is never replaced (agents may run it); give the new build a new version, or delete the old one first."));
        // Named by content: the same file uploaded under two versions is kept once, and a name never changes meaning.
        var path = PathOf(bundle.Sha256);
        if (!File.Exists(path)) File.Move(upload, path);
        db.Bundles.Add(bundle);
        audit.Add(db, actor, bundle.Kind == BundleManifest.KindAgent ? AuditActions.AgentReleaseUpload : AuditActions.PluginPackageUpload,
            Target(bundle), AuditOutcomes.Succeeded, 201,
            summary: new { bundle.Version, bundle.Architecture, bundle.Sha256, bundle.SizeBytes, bundle.KeyFingerprint });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            return (null, CommandRefusal.Conflict("Already uploaded", $"{Describe(bundle)} was uploaded at the same moment."));
        }
        return (bundle, null);
    }

    /// <summary>The bundles of one kind (and name, for plugins), newest first.</summary>
    public async Task<List<BundleEntity>> ListAsync(string kind, string? name, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Bundles.AsNoTracking().Where(b => b.Kind == kind);
        if (name is not null) query = query.Where(b => b.Name == name);
        return [.. (await query.ToListAsync(cancellationToken)).OrderByDescending(b => b.UploadedAt).ThenBy(b => b.Architecture, StringComparer.Ordinal)];
    }

    /// <summary>One version's bundles (one per architecture for an agent release).</summary>
    public async Task<List<BundleEntity>> FindAsync(string kind, string name, string version, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Bundles.AsNoTracking().Where(b => b.Kind == kind && b.Name == name && b.Version == version).OrderBy(b => b.Architecture).ToListAsync(cancellationToken);
    }

    /// <summary>Deletes one version's bundles (of one architecture when given); false when there was none. The file goes
    /// once no other row names it.</summary>
    public async Task<bool> DeleteAsync(string kind, string name, string version, string? architecture, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var rows = await db.Bundles.Where(b => b.Kind == kind && b.Name == name && b.Version == version && (architecture == null || b.Architecture == architecture)).ToListAsync(cancellationToken);
        if (rows.Count == 0) return false;
        db.Bundles.RemoveRange(rows);
        foreach (var row in rows)
            audit.Add(db, actor, kind == BundleManifest.KindAgent ? AuditActions.AgentReleaseDelete : AuditActions.PluginPackageDelete, Target(row), AuditOutcomes.Succeeded, 204);
        await db.SaveChangesAsync(cancellationToken);
        foreach (var sha in rows.Select(r => r.Sha256).Distinct())
            if (!await db.Bundles.AsNoTracking().AnyAsync(b => b.Sha256 == sha, cancellationToken)) File.Delete(PathOf(sha));
        return true;
    }

    /// <summary>The kept file of a bundle, to stream to an agent; null if it is gone from the disk.</summary>
    public FileStream? Open(BundleEntity bundle) => File.Exists(PathOf(bundle.Sha256)) ? File.OpenRead(PathOf(bundle.Sha256)) : null;

    public static string Describe(BundleEntity bundle) => bundle.Kind == BundleManifest.KindAgent
        ? $"Agent release {bundle.Version} for {bundle.Architecture}"
        : $"Plugin package {bundle.Name} {bundle.Version}";

    private static string Target(BundleEntity bundle) => bundle.Kind == BundleManifest.KindAgent
        ? $"agent_release:{bundle.Version}/{bundle.Architecture}"
        : $"plugin_package:{bundle.Name}/{bundle.Version}";

    private string PathOf(string sha256) => Path.Combine(options.Value.BundlesPath, sha256 + ".tar.gz");

    private static int StatusOf(CommandRefusal refusal) => refusal.Kind switch
    {
        RefusalKind.Invalid or RefusalKind.BadRequest => 400,
        RefusalKind.Conflict => 409,
        RefusalKind.TooLarge => 413,
        RefusalKind.NotFound => 404,
        _ => 400,
    };

    private static void CreateOwnerOnlyFolder(string folder)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
        else Directory.CreateDirectory(folder, OwnerOnlyFolder);
    }
}
