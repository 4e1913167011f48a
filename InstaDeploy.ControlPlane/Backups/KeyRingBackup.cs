namespace InstaDeploy.ControlPlane.Backups;

/// <summary>
/// Copies of the Data Protection key ring (INSTADEPLOY_KEY_RING_DIR): one XML file per key, written once when the key
/// is made (about every 90 days) and never changed, so copying the files is a consistent copy. Kept apart from the
/// database backups: the database alone reveals no secret, the two together reveal them all.
/// </summary>
public static class KeyRingBackup
{
    /// <summary>The key files of a key ring folder (none when it does not exist).</summary>
    public static string[] KeyFiles(string folder) =>
        Directory.Exists(folder) ? [.. Directory.GetFiles(folder, "*.xml").Order(StringComparer.Ordinal)] : [];

    /// <summary>Copies every key file of <paramref name="source"/> into <paramref name="target"/> (owner-only). A key
    /// already there with the same content is left alone, so one target folder collects the ring across backups.</summary>
    /// <returns>The number of keys in the target afterwards that came from the source.</returns>
    /// <exception cref="IOException">The target holds a different file of the same name.</exception>
    public static async Task<int> CopyAsync(string source, string target, CancellationToken cancellationToken)
    {
        var keys = KeyFiles(source);
        OwnerOnly.CreateFolder(target);
        foreach (var key in keys)
        {
            var copy = Path.Combine(target, Path.GetFileName(key));
            if (File.Exists(copy))
            {
                var (existing, wanted) = (await File.ReadAllBytesAsync(copy, cancellationToken), await File.ReadAllBytesAsync(key, cancellationToken));
                if (!existing.AsSpan().SequenceEqual(wanted))
                    throw new IOException($"{copy} exists and differs from {key}: that folder holds another key ring; give an empty folder or this installation's own.");
                continue;
            }
            await OwnerOnly.CopyFileAsync(key, copy, cancellationToken);
        }
        return keys.Length;
    }
}
