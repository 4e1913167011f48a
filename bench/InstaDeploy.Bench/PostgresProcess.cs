using System.Diagnostics;

namespace InstaDeploy.Bench;

/// <summary>
/// A PostgreSQL server of the bench's own, started as tests/InstaDeploy.Testing/PostgresServer.cs does (Debian's
/// binaries from eng/setup-postgres.sh, a temp folder, a free loopback port, as the postgres user under root), stopped
/// and deleted at the end. fsync stays on: results persisted means on disk, as a user runs it.
/// </summary>
internal sealed class PostgresProcess : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _folder;

    private PostgresProcess(string bin, string folder, int port)
    {
        _bin = bin;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Maximum Pool Size=60";

    private string Data => Path.Combine(_folder, "data");

    public static async Task<PostgresProcess> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).Order().LastOrDefault()
            : null;
        if (bin is null) throw new InvalidOperationException("PostgreSQL's binaries are not installed: run bash eng/setup-postgres.sh");
        var folder = Directory.CreateTempSubdirectory("instadeploy-bench-pg-").FullName;
        if (Environment.UserName == "root") await RunAsync("chown", "postgres", folder);
        var server = new PostgresProcess(bin, folder, BenchSettings.FreePort());
        await server.AsOwnerAsync(Path.Combine(bin, "initdb"), "-D", server.Data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8");
        await server.AsOwnerAsync(Path.Combine(bin, "pg_ctl"), "-D", server.Data, "-l", Path.Combine(folder, "log"), "-w", "-t", "60",
            "-o", $"-p {server.Port} -k '' -c listen_addresses=127.0.0.1 -c max_connections=300", "start");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await AsOwnerAsync(Path.Combine(_bin, "pg_ctl"), "-D", Data, "-m", "fast", "-w", "stop");
        }
        catch (InvalidOperationException)
        {
        }
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private Task AsOwnerAsync(string program, params string[] arguments) =>
        Environment.UserName == "root" ? RunAsync("runuser", ["-u", "postgres", "--", program, .. arguments]) : RunAsync(program, arguments);

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await output}{await error}");
    }
}
