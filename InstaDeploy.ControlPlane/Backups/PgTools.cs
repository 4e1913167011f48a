using System.Diagnostics;
using System.Text.RegularExpressions;

namespace InstaDeploy.ControlPlane.Backups;

/// <summary>A settings or installation problem that stops a backup or restore before it changes anything (exit 2 for
/// the commands); the message says what to change.</summary>
public sealed class BackupSetupException(string message) : Exception(message);

/// <summary>pg_dump or pg_restore ended with an error; the message holds a bounded summary of its stderr.</summary>
public sealed class PostgresToolException(string message) : IOException(message);

/// <summary>
/// PostgreSQL's client programs (pg_dump, pg_restore): where they are, their version, and running one on the control
/// plane's database. Always an argument list, never a shell string; the password goes into a 0600 passfile of the
/// child's own, never onto a command line, into a log or into an error message.
/// </summary>
internal static partial class PgTools
{
    public const string BinDirectorySetting = "INSTADEPLOY_PG_BIN_DIR";
    private const string DebianRoot = "/usr/lib/postgresql";
    private const int SummaryLines = 6;
    private const int SummaryLineChars = 300;
    private static readonly string[] Programs = ["pg_dump", "pg_restore"];

    /// <summary>Null when the setting is unset or names a folder holding both programs; else what is wrong with it.</summary>
    public static string? BinDirectoryProblem(string? binDirectory)
    {
        if (string.IsNullOrWhiteSpace(binDirectory)) return null;
        var missing = Programs.Where(p => !IsExecutable(Path.Combine(binDirectory, p))).ToList();
        return missing.Count == 0
            ? null
            : $"{BinDirectorySetting} is '{binDirectory}', which holds no executable {string.Join(" or ", missing)}: point it at the bin folder of "
              + $"PostgreSQL's client programs (e.g. {DebianRoot}/16/bin), or unset it to take them from PATH.";
    }

    /// <summary>The program: in the setting's folder when it is set, else on PATH, else in the newest
    /// /usr/lib/postgresql/*/bin.</summary>
    /// <exception cref="BackupSetupException">It is in none of them.</exception>
    public static string Find(string program, string? binDirectory) =>
        Find(program, binDirectory, Environment.GetEnvironmentVariable("PATH"), DebianRoot);

    internal static string Find(string program, string? binDirectory, string? pathVariable, string debianRoot)
    {
        if (!string.IsNullOrWhiteSpace(binDirectory))
            return BinDirectoryProblem(binDirectory) is { } problem ? throw new BackupSetupException(problem) : Path.Combine(binDirectory, program);
        var newest = Directory.Exists(debianRoot)
            ? Directory.GetDirectories(debianRoot)
                .Select(d => (Path: Path.Combine(d, "bin", program), Version: Version.TryParse(Path.GetFileName(d) + (Path.GetFileName(d).Contains('.') ? "" : ".0"), out var v) ? v : null))
                .Where(c => c.Version is not null && IsExecutable(c.Path))
                .OrderBy(c => c.Version).Select(c => c.Path).LastOrDefault()
            : null;
        foreach (var folder in (pathVariable ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, program);
            if (!IsExecutable(candidate)) continue;
            // Debian's /usr/bin/pg_dump is pg_wrapper, which picks the version of a local cluster unless it sees a host
            // option, and it does not look inside a connection string: the newest client dumps any older server.
            if (newest is not null && new FileInfo(candidate).LinkTarget is { } target && Path.GetFileName(target) == "pg_wrapper") return newest;
            return candidate;
        }
        return newest ?? throw new BackupSetupException(
            $"{program} was not found ({BinDirectorySetting} is unset, and it is neither on PATH nor in {debianRoot}/*/bin): install PostgreSQL's client "
            + $"programs of the server's version or newer (Debian: apt-get install postgresql-client), or set {BinDirectorySetting} to their folder.");
    }

    /// <summary>The major version and full version text of a program, from its <c>--version</c>.</summary>
    public static async Task<(int Major, string Text)> VersionAsync(string program, CancellationToken cancellationToken)
    {
        var output = new StringWriter();
        await RunAsync(program, ["--version"], null, async (reader, ct) => output.Write(await reader.ReadToEndAsync(ct)), cancellationToken);
        var match = VersionPattern().Match(output.ToString());
        if (!match.Success) throw new BackupSetupException($"{program} --version answered '{Bounded(output.ToString().Trim())}', which names no PostgreSQL version: is it PostgreSQL's {Path.GetFileName(program)}?");
        return (int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups[1].Value);
    }

    [GeneratedRegex(@"\(PostgreSQL\) ((\d+)(?:\.\d+)*)")]
    private static partial Regex VersionPattern();

    /// <summary>
    /// Runs <paramref name="program"/> to its end; <paramref name="readOutput"/> reads its stdout while it runs
    /// (discarded when null). Cancelling kills it.
    /// </summary>
    /// <exception cref="PostgresToolException">It exited with an error: the message summarises its stderr.</exception>
    public static async Task RunAsync(string program, IReadOnlyList<string> arguments, PgConnection? connection,
        Func<StreamReader, CancellationToken, Task>? readOutput, CancellationToken cancellationToken)
    {
        var start = StartInfo(program, arguments, connection, out var privateFolder);
        try
        {
            using var process = Process.Start(start) ?? throw new PostgresToolException($"{program} did not start.");
            process.StandardInput.Close(); // never waits on a password prompt
            var errors = ReadSummaryAsync(process.StandardError, connection?.Password);
            try
            {
                await using (cancellationToken.Register(() => Kill(process)))
                {
                    if (readOutput is null) await process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, cancellationToken);
                    else await readOutput(process.StandardOutput, cancellationToken);
                    await process.WaitForExitAsync(cancellationToken);
                }
            }
            catch
            {
                Kill(process);
                throw;
            }
            var summary = await errors;
            if (process.ExitCode != 0)
                throw new PostgresToolException($"{Path.GetFileName(program)} failed (exit code {process.ExitCode}): {(summary.Length == 0 ? "it wrote no error" : summary)}");
        }
        finally
        {
            if (privateFolder is not null) Directory.Delete(privateFolder, recursive: true);
        }
    }

    /// <summary>The child's start: the arguments as a list, the password in a passfile of a 0700 folder of its own
    /// (<paramref name="privateFolder"/>, deleted by the caller), and none of the control plane's settings in its
    /// environment (INSTADEPLOY_POSTGRES holds the password).</summary>
    internal static ProcessStartInfo StartInfo(string program, IReadOnlyList<string> arguments, PgConnection? connection, out string? privateFolder)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("INSTADEPLOY_", StringComparison.Ordinal) || k == "AGENT_SECRET_TOKEN").ToList())
            start.Environment.Remove(name);
        privateFolder = null;
        if (connection?.Password is { Length: > 0 } password)
        {
            // libpq prefers PGPASSWORD to the passfile: an inherited one must not win over this database's password.
            start.Environment.Remove("PGPASSWORD");
            if (password.Contains('\n') || password.Contains('\r'))
            {
                start.Environment["PGPASSWORD"] = password; // a passfile line cannot hold a line break
            }
            else
            {
                privateFolder = Directory.CreateTempSubdirectory("instadeploy-pg-").FullName; // 0700
                var passfile = Path.Combine(privateFolder, "pgpass");
                using (var file = OwnerOnly.CreateFile(passfile))
                using (var writer = new StreamWriter(file))
                    writer.Write($"*:*:*:*:{password.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(":", "\\:", StringComparison.Ordinal)}\n");
                start.Environment["PGPASSFILE"] = passfile;
            }
        }
        else if (connection?.Passfile is { Length: > 0 } given)
        {
            start.Environment["PGPASSFILE"] = given;
        }
        return start;
    }

    /// <summary>The first error line (usually the cause) and the last lines of stderr, bounded in lines and length,
    /// with the password (should a program ever echo it) masked.</summary>
    private static async Task<string> ReadSummaryAsync(StreamReader error, string? password)
    {
        string? firstError = null;
        var lines = new Queue<string>();
        var seen = 0;
        while (await error.ReadLineAsync() is { } line)
        {
            line = Bounded(line.Trim());
            if (line.Length == 0) continue;
            seen++;
            if (firstError is null && line.Contains("error", StringComparison.OrdinalIgnoreCase)) firstError = line;
            lines.Enqueue(line);
            if (lines.Count > SummaryLines) lines.Dequeue();
        }
        var summary = string.Join(" ", lines);
        if (firstError is not null && !lines.Contains(firstError))
            summary = $"{firstError} (… {seen - lines.Count - 1} more line(s) …) {summary}";
        return string.IsNullOrEmpty(password) ? summary : summary.Replace(password, "***", StringComparison.Ordinal);
    }

    private static string Bounded(string text) => text.Length > SummaryLineChars ? text[..SummaryLineChars] + "…" : text;

    private static bool IsExecutable(string path) =>
        File.Exists(path) && (OperatingSystem.IsWindows()
            || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // it ended meanwhile
        }
    }
}
