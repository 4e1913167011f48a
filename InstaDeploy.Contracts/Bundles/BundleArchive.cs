using System.Formats.Tar;
using System.IO.Compression;

namespace InstaDeploy.Contracts.Bundles;

/// <summary>
/// A bundle's file: a gzip-compressed tar whose first entry is <see cref="BundleManifest.FileName"/>, then the files of
/// the folder it ships (an agent's self-contained publish with its <c>plugins/</c>, or one plugin's folder), with their
/// Unix modes. Reading treats the file as hostile: only plain files and folders, no path leaves the destination, no
/// set-id bits, and the unpacked size and the number of entries are bounded.
/// </summary>
public static class BundleArchive
{
    /// <summary>Largest manifest read.</summary>
    public const int MaxManifestBytes = 64 * 1024;
    /// <summary>Most entries one bundle may hold.</summary>
    public const int MaxEntries = 20_000;

    /// <summary>Writes <paramref name="folder"/> as a bundle with <paramref name="manifest"/> first; files in ordinal order,
    /// so the same folder gives the same file.</summary>
    public static async Task PackAsync(string folder, BundleManifest manifest, Stream destination, CancellationToken cancellationToken = default)
    {
        if (manifest.Problem() is { } problem) throw new BundleException(problem);
        await using var gzip = new GZipStream(destination, CompressionLevel.Optimal, leaveOpen: true);
        await using var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true);
        var json = manifest.ToJson();
        var manifestEntry = new PaxTarEntry(TarEntryType.RegularFile, BundleManifest.FileName)
        {
            DataStream = new MemoryStream(json),
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            ModificationTime = DateTimeOffset.UnixEpoch,
        };
        await tar.WriteEntryAsync(manifestEntry, cancellationToken);
        var root = Path.GetFullPath(folder);
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var name = Path.GetRelativePath(root, path).Replace('\\', '/');
            if (name == BundleManifest.FileName) continue;
            if (File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint)) throw new BundleException($"'{name}' is a symbolic link; bundles hold plain files only");
            await tar.WriteEntryAsync(path, Directory.Exists(path) ? name + "/" : name, cancellationToken);
        }
    }

    /// <summary>Reads the manifest, the first entry; throws <see cref="BundleException"/> when there is none or it is unusable.</summary>
    public static async Task<BundleManifest> ReadManifestAsync(Stream bundle, CancellationToken cancellationToken = default)
    {
        await using var gzip = new GZipStream(bundle, CompressionMode.Decompress, leaveOpen: true);
        await using var tar = new TarReader(gzip, leaveOpen: true);
        return await ReadManifestEntryAsync(tar, cancellationToken);
    }

    /// <summary>
    /// Unpacks the bundle into <paramref name="destination"/> (which must not exist yet), and returns its manifest. At most
    /// <paramref name="maxUnpackedBytes"/> are written; a bundle that breaks a rule leaves the destination to be deleted by the caller.
    /// </summary>
    public static async Task<BundleManifest> ExtractAsync(Stream bundle, string destination, long maxUnpackedBytes, CancellationToken cancellationToken = default)
    {
        var root = Path.GetFullPath(destination);
        if (Directory.Exists(root) || File.Exists(root)) throw new BundleException($"'{root}' exists already");
        Directory.CreateDirectory(root);
        await using var gzip = new GZipStream(bundle, CompressionMode.Decompress, leaveOpen: true);
        await using var tar = new TarReader(gzip, leaveOpen: true);
        var manifest = await ReadManifestEntryAsync(tar, cancellationToken);
        long written = 0;
        var entries = 0;
        const UnixFileMode Permissions = (UnixFileMode)0x1FF; // rwxrwxrwx, without set-id and sticky bits
        try
        {
            while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                if (++entries > MaxEntries) throw new BundleException($"more than {MaxEntries} entries");
                var name = entry.Name.TrimEnd('/');
                if (name.Length == 0 || name.StartsWith('/') || name.Contains('\\') || name.Split('/').Any(part => part is "" or "." or ".."))
                    throw new BundleException($"entry '{AgentLabels.Shown(entry.Name)}' is not a plain relative path");
                var path = Path.GetFullPath(Path.Combine(root, name));
                if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) throw new BundleException($"entry '{AgentLabels.Shown(entry.Name)}' leaves the bundle's folder");
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(path);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                        written += entry.Length;
                        if (written > maxUnpackedBytes) throw new BundleException($"it unpacks to more than {maxUnpackedBytes} bytes");
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = (entry.Mode & Permissions) | UnixFileMode.UserRead | UnixFileMode.UserWrite;
                        await using (var file = new FileStream(path, options))
                        {
                            if (entry.DataStream is { } data) await data.CopyToAsync(file, cancellationToken);
                        }
                        break;
                    default:
                        throw new BundleException($"entry '{AgentLabels.Shown(entry.Name)}' is a {entry.EntryType}; bundles hold plain files and folders only");
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new BundleException($"the archive is damaged: {e.Message}");
        }
        return manifest;
    }

    private static async Task<BundleManifest> ReadManifestEntryAsync(TarReader tar, CancellationToken cancellationToken)
    {
        TarEntry? first;
        try
        {
            first = await tar.GetNextEntryAsync(copyData: false, cancellationToken);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or IOException)
        {
            throw new BundleException($"it is not a gzip-compressed tar archive: {e.Message}");
        }
        if (first is null || first.Name != BundleManifest.FileName || first.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            throw new BundleException($"its first entry is not {BundleManifest.FileName} (build bundles with eng/publish-agent-bundles.sh or instadeploy-bundle-tool pack)");
        if (first.Length > MaxManifestBytes) throw new BundleException($"{BundleManifest.FileName} is larger than {MaxManifestBytes} bytes");
        using var buffer = new MemoryStream();
        await first.DataStream!.CopyToAsync(buffer, cancellationToken);
        var manifest = BundleManifest.Parse(buffer.ToArray());
        if (manifest.Problem() is { } problem) throw new BundleException($"{BundleManifest.FileName}: {problem}");
        return manifest;
    }
}
