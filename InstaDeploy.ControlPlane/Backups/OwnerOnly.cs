namespace InstaDeploy.ControlPlane.Backups;

/// <summary>Folders (0700) and files (0600) only their owner can read: backups hold every job's output and the key ring
/// holds the keys to every secret.</summary>
internal static class OwnerOnly
{
    private const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the folder (and its parents) when missing; a folder that exists keeps its mode.</summary>
    public static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, Folder);
    }

    /// <summary>A new, empty file that must not exist yet.</summary>
    public static FileStream CreateFile(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = File;
        return new FileStream(path, options);
    }

    /// <summary>Copies a file through a temporary name beside the target and renames it, flushed to disk, so the target
    /// is either absent or complete.</summary>
    public static async Task CopyFileAsync(string source, string target, CancellationToken cancellationToken)
    {
        var partial = Path.Combine(Path.GetDirectoryName(target)!, "." + Path.GetFileName(target) + ".partial");
        System.IO.File.Delete(partial);
        try
        {
            await using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, useAsync: true))
            await using (var output = CreateFile(partial))
            {
                await input.CopyToAsync(output, cancellationToken);
                output.Flush(flushToDisk: true);
            }
            System.IO.File.Move(partial, target);
        }
        catch
        {
            System.IO.File.Delete(partial);
            throw;
        }
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="folder"/> or lies inside it.</summary>
    public static bool IsSameOrInside(string path, string folder)
    {
        var p = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var f = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        return p == f || p.StartsWith(f + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }
}
