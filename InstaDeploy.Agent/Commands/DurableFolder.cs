using System.Runtime.InteropServices;

namespace InstaDeploy.Agent.Commands;

/// <summary>fsync of a folder (Linux and other Unix): .NET flushes files, not the folder entries a rename or a delete
/// changes, and without it a power loss can undo them (a result written, then the job found "interrupted" and run again).</summary>
internal static partial class DurableFolder
{
    private const int ReadOnly = 0;
    private const int Directory = 0x10000; // O_DIRECTORY on Linux

    public static void Sync(string folder)
    {
        if (OperatingSystem.IsWindows()) return; // NTFS journals its metadata; there is no folder handle to flush
        var descriptor = Open(folder, ReadOnly | (OperatingSystem.IsLinux() ? Directory : 0));
        if (descriptor < 0) throw new IOException($"cannot open the folder {folder} to flush it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(descriptor) != 0) throw new IOException($"cannot flush the folder {folder} (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
