using System.Diagnostics;

namespace InstaDeploy.ControlPlane.Tests.Infrastructure;

/// <summary>A small tmpfs mounted for one test (needs root, as CI runs), to fill, make read-only and free again; unmounted
/// on dispose.</summary>
public sealed class SmallDisk : IAsyncDisposable
{
    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    private string Filler => System.IO.Path.Combine(Path, "filler");

    public static async Task<SmallDisk> MountAsync(int megabytes)
    {
        var path = Directory.CreateTempSubdirectory("daytwo-smalldisk-").FullName;
        var (code, output) = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", path);
        if (code != 0)
            throw new InvalidOperationException($"This test mounts a tmpfs and must run as root (CI does): mount failed: {output}");
        return new SmallDisk(path);
    }

    /// <summary>Writes a file until the file system is full; returns how many bytes it took.</summary>
    public long Fill()
    {
        long written = 0;
        using var file = new FileStream(Filler, FileMode.Append, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        foreach (var size in new[] { 1 << 20, 1 << 12, 1 })
        {
            var chunk = new byte[size];
            while (true)
            {
                try
                {
                    file.Write(chunk);
                    file.Flush();
                    written += size;
                }
                catch (IOException)
                {
                    break;
                }
            }
        }
        return written;
    }

    public void Free() => File.Delete(Filler);

    public Task<(int, string)> RemountAsync(bool readOnly) => RunAsync("mount", "-o", readOnly ? "remount,ro" : "remount,rw", Path);

    public async ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await RunAsync("umount", "-l", Path);
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }

    private static async Task<(int, string)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}
