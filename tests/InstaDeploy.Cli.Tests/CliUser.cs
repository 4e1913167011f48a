using System.Diagnostics;
using System.Text;

namespace InstaDeploy.Cli.Tests;

/// <summary>What one run of the CLI printed and how it exited.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// A person (or CI job) with their own home folder, so ~/.config/instadeploy is theirs alone. Runs the CLI in-process
/// (<see cref="RunAsync"/>, the commands through DI against the real server) or as the built program in its own process
/// (<see cref="RunProcessAsync"/>), with the same arguments, standard input and environment.
/// </summary>
public sealed class CliUser : IDisposable
{
    public CliUser() => Home = Directory.CreateTempSubdirectory("instadeploy-cli-home-").FullName;

    public string Home { get; }

    public string ConfigFolder => Path.Combine(Home, ".config", "instadeploy");

    /// <summary>Environment variables every run gets (e.g. INSTADEPLOY_URL); a run's own override them.</summary>
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>The built CLI, copied beside the tests by the project reference.</summary>
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "InstaDeploy.Cli.dll");

    public async Task<CliResult> RunAsync(string[] args, string? stdin = null, IDictionary<string, string?>? environment = null, CancellationToken cancellationToken = default)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var variables = new Dictionary<string, string?>(Environment, StringComparer.Ordinal) { ["HOME"] = Home };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>()) variables[key] = value;
        var cli = new CliEnvironment
        {
            Input = new StringReader(stdin ?? ""),
            Output = output,
            Error = error,
            Variables = variables,
            HomeDirectory = Home,
        };
        var exit = await CliApplication.RunAsync(args, cli, cancellationToken: cancellationToken).WaitAsync(TimeSpan.FromMinutes(3), cancellationToken);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    public Task<CliResult> RunAsync(params string[] args) => RunAsync(args, null);

    /// <summary>An executable <c>instadeploy</c> in <paramref name="folder"/> that runs the built CLI, as the installed
    /// tool is on PATH for shells and scripts.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static void WriteCommand(string folder)
    {
        var path = Path.Combine(folder, "instadeploy");
        File.WriteAllText(path, $"#!/bin/sh\nexec dotnet '{CliDll}' \"$@\"\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>The built program (<c>dotnet InstaDeploy.Cli.dll</c>) with HOME set to this user's; no INSTADEPLOY_* or
    /// NO_COLOR leaks in from the test's own environment.</summary>
    public async Task<CliResult> RunProcessAsync(string[] args, string? stdin = null, IDictionary<string, string?>? environment = null, string? program = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (program is null) start.ArgumentList.Add(CliDll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("INSTADEPLOY_", StringComparison.Ordinal) || k is "NO_COLOR" or "XDG_CONFIG_HOME").ToList())
            start.Environment.Remove(name);
        start.Environment["HOME"] = Home;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (key, value) in Environment) start.Environment[key] = value;
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>()) start.Environment[key] = value;

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"instadeploy {string.Join(' ', args)} did not exit in time; stderr so far: {await stderr}");
        }
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    public Task<CliResult> RunProcessAsync(params string[] args) => RunProcessAsync(args, null);

    /// <summary>Adds a context for <paramref name="url"/> and logs in with <paramref name="key"/> from standard input.</summary>
    public async Task LogInAsync(string context, Uri url, string key)
    {
        var added = await RunAsync("context", "add", context, url.ToString());
        Assert.True(added.ExitCode == 0, added.ToString());
        var login = await RunAsync(["login", "--context", context], key + "\n");
        Assert.True(login.ExitCode == 0, login.ToString());
    }

    public void Dispose()
    {
        try { Directory.Delete(Home, recursive: true); } catch (IOException) { }
    }
}
