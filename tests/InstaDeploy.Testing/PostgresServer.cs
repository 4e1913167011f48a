using System.Diagnostics;

namespace InstaDeploy.Testing;

/// <summary>
/// A PostgreSQL server of a test's own (Debian's binaries, which eng/setup-postgres.sh installs), in a folder of its
/// own on a free loopback port, for tests that stop and start the database under running control planes: the shared
/// test server must stay up for everyone else. As root, the server runs as the <c>postgres</c> user (it refuses root).
/// The bench starts its own with this file too (linked into bench/InstaDeploy.Bench), durable: results it counts as
/// persisted are on disk, as a user runs it; tests run without fsync.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _folder;

    private readonly bool _durable;

    private PostgresServer(string bin, string folder, int port, bool durable)
    {
        _bin = bin;
        _folder = folder;
        Port = port;
        _durable = durable;
    }

    public int Port { get; }

    /// <summary>The connection string of its <c>postgres</c> database, as INSTADEPLOY_POSTGRES.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres";

    private string Data => Path.Combine(_folder, "data");

    /// <summary>Creates and starts a server; <paramref name="durable"/> keeps fsync and synchronous commits on.</summary>
    public static async Task<PostgresServer> StartAsync(bool durable = false)
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).Order().LastOrDefault()
            : null;
        if (bin is null) throw new InvalidOperationException("PostgreSQL's binaries are not installed: run bash eng/setup-postgres.sh (eng/test.sh does).");
        var folder = Directory.CreateTempSubdirectory("instadeploy-pg-").FullName;
        if (Environment.UserName == "root") await RunAsync("chown", "postgres", folder);
        var server = new PostgresServer(bin, folder, FreePort(), durable);
        await server.AsOwnerAsync(Path.Combine(bin, "initdb"), "-D", server.Data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8");
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again), on the same port and data.</summary>
    public Task StartAgainAsync() => AsOwnerAsync(Path.Combine(_bin, "pg_ctl"), "-D", Data, "-l", Path.Combine(_folder, "log"), "-w", "-t", "60",
        "-o", $"-p {Port} -k '' -c listen_addresses=127.0.0.1{(_durable ? "" : " -c fsync=off -c synchronous_commit=off")} -c max_connections=300", "start");

    /// <summary>Stops the server (fast: open sessions are ended, as when a database host goes down).</summary>
    public Task StopAsync() => AsOwnerAsync(Path.Combine(_bin, "pg_ctl"), "-D", Data, "-m", "fast", "-w", "stop");

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); } catch (InvalidOperationException) { } // already stopped
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
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
