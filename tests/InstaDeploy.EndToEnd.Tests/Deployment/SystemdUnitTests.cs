using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;

namespace InstaDeploy.EndToEnd.Tests.Deployment;

/// <summary>
/// The systemd units of examples/systemd as systemd would run them, without systemd (no init runs here): each unit's
/// ExecStart command with its Environment= and EnvironmentFile= settings, the folders its StateDirectory= makes, and
/// the paths of docs/DEPLOYMENT.md moved under a temporary root.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SystemdUnitTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("instadeploy-systemd-").FullName;
    private readonly int _port = ProcessFleet.FreePort();

    /// <summary>A path of the guide's layout, under the test's root; the published control plane is this build's.</summary>
    private string Map(string text) => text
        .Replace("/opt/instadeploy/control-plane/", AppContext.BaseDirectory, StringComparison.Ordinal)
        .Replace("127.0.0.1:8000", $"127.0.0.1:{_port}", StringComparison.Ordinal)
        .Replace("/var/lib/", _root + "/var/lib/", StringComparison.Ordinal)
        .Replace("/var/backups/", _root + "/var/backups/", StringComparison.Ordinal)
        .Replace("/etc/instadeploy/", _root + "/etc/instadeploy/", StringComparison.Ordinal);

    [Fact]
    public async Task TheControlPlaneUnitRunsTheServiceAndTheBackupUnitBacksItUpApartFromItsKeyRing()
    {
        var service = SystemdUnit.Parse(ExampleFiles.Read("systemd/instadeploy-control-plane.service"));
        var backup = SystemdUnit.Parse(ExampleFiles.Read("systemd/instadeploy-backup.service"));
        foreach (var folder in service.Values("StateDirectory").SelectMany(v => v.Split(' ')))
            Directory.CreateDirectory(Path.Combine(_root, "var", "lib", folder), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // Without the environment file's settings the service stops with 2, which RestartPreventExitStatus= names.
        var environmentFile = Map(Assert.Single(service.Values("EnvironmentFile")));
        Directory.CreateDirectory(Path.GetDirectoryName(environmentFile)!);
        await File.WriteAllTextAsync(environmentFile, "");
        using (var misconfigured = Start(service, "ExecStart"))
        {
            await misconfigured.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(misconfigured.Process.ExitCode == 2, misconfigured.Output);
            Assert.Contains("AGENT_SECRET_TOKEN is not set", misconfigured.Output);
            Assert.Contains("2", service.Values("RestartPreventExitStatus"));
        }

        // As the guide has it: the two secrets in the environment file.
        const string adminKey = "idk_systemd-test-admin-key-0123456789";
        await File.WriteAllTextAsync(environmentFile, $"AGENT_SECRET_TOKEN=systemd-test-agent-token-0123456789\nINSTADEPLOY_ADMIN_API_KEY={adminKey}\n");
        using var running = Start(service, "ExecStart");
        var process = running.Process;
        try
        {
            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
            api.DefaultRequestHeaders.Authorization = new("Bearer", adminKey);
            await Eventually.TrueAsync(async () =>
            {
                if (process.HasExited) throw new InvalidOperationException("the service exited: " + running.Output);
                try { return (await api.GetAsync("/health")).IsSuccessStatusCode; }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromSeconds(60), "the service to answer /health");
            (await api.PutAsJsonAsync("/deployments/app/env/DB_PASSWORD", new { value = "s3cret", secret = true }, Api.Json)).EnsureSuccessStatusCode();

            // The database in the data folder, the key ring in its own folder (not in the data folder's keys/).
            var data = Map(service.Setting("INSTADEPLOY_DATA_DIR"));
            var keyRing = Map(service.Setting("INSTADEPLOY_KEY_RING_DIR"));
            Assert.True(File.Exists(Path.Combine(data, "instadeploy.db")));
            Assert.NotEmpty(Directory.GetFiles(keyRing, "key-*.xml"));
            Assert.False(Directory.Exists(Path.Combine(data, "keys")));

            // The backup unit, with the folders its comment makes, while the service runs.
            foreach (var folder in backup.Values("ReadWritePaths").SelectMany(v => v.Split(' ')).Where(p => p.StartsWith("/var/backups/", StringComparison.Ordinal)))
                Directory.CreateDirectory(Map(folder), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using (var run = Start(backup, "ExecStart"))
            {
                await run.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
                Assert.True(run.Process.ExitCode == 0, run.Output);
                Assert.Contains("it decrypts 1 of the 1 secret value(s)", run.Output);
            }
            Assert.Single(Directory.GetFiles(Path.Combine(_root, "var", "backups", "instadeploy"), "instadeploy-*.db"));
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(_root, "var", "backups", "instadeploy-keys"), "key-*.xml"));
            using (var prune = Start(backup, "ExecStartPost"))
            {
                await prune.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
                Assert.True(prune.Process.ExitCode == 0, prune.Output);
            }
            Assert.Single(Directory.GetFiles(Path.Combine(_root, "var", "backups", "instadeploy"), "instadeploy-*.db")); // today's stays

            // systemd stops it with SIGTERM: it ends by itself, cleanly, well within TimeoutStopSec.
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(int.Parse(service.Values("TimeoutStopSec").Single(), CultureInfo.InvariantCulture)));
            Assert.True(process.ExitCode == 0, running.Output);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Starts a unit's command line (ExecStart=, ExecStartPost=) the way systemd would: its own arguments (no
    /// shell), the unit's environment, in its WorkingDirectory=.</summary>
    private sealed class Run(Process process) : IDisposable
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public Process Process { get; } = process;

        public string Output => string.Join('\n', _lines);

        public Run Capture()
        {
            Process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
            return this;
        }

        public void Dispose() => Process.Dispose();
    }

    private Run Start(SystemdUnit unit, string command)
    {
        var arguments = SystemdUnit.SplitCommandLine(Map(Assert.Single(unit.Values(command))));
        var start = new ProcessStartInfo(arguments[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments.Skip(1)) start.ArgumentList.Add(argument);
        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; // systemd's own default
        foreach (var entry in unit.Values("EnvironmentFile"))
        {
            // systemd: a file named with a leading '-' may be missing.
            var file = Map(entry.TrimStart('-'));
            if (entry.StartsWith('-') && !File.Exists(file)) continue;
            foreach (var line in File.ReadAllLines(file).Where(l => l.Contains('=') && !l.StartsWith('#')))
                start.Environment[line[..line.IndexOf('=')]] = line[(line.IndexOf('=') + 1)..];
        }
        foreach (var (key, value) in unit.Environment) start.Environment[key] = Map(value);
        var workingDirectory = unit.Values("WorkingDirectory").SingleOrDefault();
        start.WorkingDirectory = workingDirectory is null ? _root : Map(workingDirectory);
        return new Run(Process.Start(start)!).Capture();
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The [Service] part of a systemd unit file: its settings in order, the way systemd reads them (one setting
/// per line, # and ; comments).</summary>
internal sealed class SystemdUnit
{
    private readonly List<(string Key, string Value)> _settings = [];

    public static SystemdUnit Parse(string text)
    {
        var unit = new SystemdUnit();
        foreach (var line in text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] is not ('#' or ';' or '[')))
        {
            var equals = line.IndexOf('=');
            unit._settings.Add((line[..equals], line[(equals + 1)..]));
        }
        return unit;
    }

    public IEnumerable<string> Values(string key) => _settings.Where(s => s.Key == key).Select(s => s.Value);

    /// <summary>Environment= assignments, one per line here.</summary>
    public IEnumerable<(string Key, string Value)> Environment =>
        Values("Environment").Select(v => (v[..v.IndexOf('=')], v[(v.IndexOf('=') + 1)..]));

    public string Setting(string variable) => Environment.Single(e => e.Key == variable).Value;

    /// <summary>systemd's splitting of a command line: on spaces, with '...' and "..." quoting; no shell, no globbing.</summary>
    public static List<string> SplitCommandLine(string line)
    {
        var words = new List<string>();
        var word = new System.Text.StringBuilder();
        char? quote = null;
        var inWord = false;
        foreach (var c in line)
        {
            if (quote is { } q) { if (c == q) quote = null; else word.Append(c); continue; }
            if (c is '\'' or '"') { quote = c; inWord = true; continue; }
            if (c == ' ') { if (inWord) words.Add(word.ToString()); word.Clear(); inWord = false; continue; }
            word.Append(c);
            inWord = true;
        }
        if (inWord) words.Add(word.ToString());
        return words;
    }
}
