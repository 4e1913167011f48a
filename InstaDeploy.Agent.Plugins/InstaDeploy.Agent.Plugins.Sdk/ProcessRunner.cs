using System.Diagnostics;

namespace InstaDeploy.Agent.Plugins;

/// <summary>
/// Runs an external program with its arguments passed as a list (never through a shell), streaming each line
/// it prints to a callback as it is printed.
/// </summary>
public static class ProcessRunner
{
    /// <summary>Activity source for the processes plugins run; the agent listens to it.</summary>
    public static readonly ActivitySource ActivitySource = new("InstaDeploy.Agent.Process");

    /// <summary>Whether an environment variable's name says it holds a secret (token, secret, password, key).</summary>
    public static bool IsSecretName(string name) => Contracts.ChildEnvironment.IsSecretName(name);

    /// <summary>
    /// The environment every program started here gets: an allow-list of the agent's (PATH, HOME, the locale, TMPDIR,
    /// XDG_*, DOCKER_*, COMPOSE_*, …; see <see cref="Contracts.ChildEnvironment"/>), never the rest. Compose fills
    /// <c>${NAME}</c> in a compose file from its environment, so whatever the agent holds (AGENT_SECRET_TOKEN, its
    /// enrollment token, a cloud credential) would otherwise be one deploy away from a container or an error message.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ChildEnvironment() =>
        Contracts.ChildEnvironment.Of(Environment.GetEnvironmentVariables());

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="arguments"/>, calls <paramref name="onLine"/> for every
    /// line of stdout and stderr, and returns once the process has exited and its output is read.
    /// On cancellation the process tree is killed and <see cref="OperationCanceledException"/> is thrown.
    /// </summary>
    /// <exception cref="System.ComponentModel.Win32Exception">The program could not be started (e.g. not installed).</exception>
    public static Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        Func<string, ValueTask>? onLine,
        CancellationToken cancellationToken,
        string? workingDirectory = null,
        int stderrTailLines = 20) =>
        RunAsync(fileName, arguments, onLine, new ProcessOptions { WorkingDirectory = workingDirectory, StderrTailLines = stderrTailLines }, cancellationToken);

    /// <summary>
    /// As the other overload, with <paramref name="options"/>: variables set for this process only on top of
    /// <see cref="ChildEnvironment"/> (a job's own <c>DOCKER_CONFIG</c>, say), and text written to its standard input (a
    /// password for <c>--password-stdin</c>, so it is never an argument that <c>ps</c> shows).
    /// </summary>
    /// <exception cref="System.ComponentModel.Win32Exception">The program could not be started (e.g. not installed).</exception>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        Func<string, ValueTask>? onLine,
        ProcessOptions options,
        CancellationToken cancellationToken)
    {
        var stderrTailLines = options.StderrTailLines;
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
            WorkingDirectory = options.WorkingDirectory ?? "",
        };
        foreach (var argument in arguments) startInfo.ArgumentList.Add(argument);
        startInfo.Environment.Clear();
        foreach (var (name, value) in ChildEnvironment()) startInfo.Environment[name] = value;
        foreach (var (name, value) in options.Environment ?? new Dictionary<string, string>()) startInfo.Environment[name] = value;

        using var activity = ActivitySource.StartActivity($"exec {Path.GetFileName(fileName)}", ActivityKind.Internal);
        activity?.SetTag("process.executable.name", Path.GetFileName(fileName));
        activity?.SetTag("process.command_args", string.Join(' ', startInfo.ArgumentList));

        using var process = new Process { StartInfo = startInfo };
        process.Start();
        if (options.StandardInput is { } input)
        {
            try
            {
                await process.StandardInput.WriteAsync(input.AsMemory(), cancellationToken);
            }
            catch (IOException)
            {
                // the program exited without reading it; its exit code says why
            }
        }
        process.StandardInput.Close();

        var stdout = new List<string>();
        var stderrTail = new Queue<string>();
        var gate = new SemaphoreSlim(1, 1);

        async Task Pump(StreamReader reader, bool isError)
        {
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                await gate.WaitAsync(cancellationToken);
                try
                {
                    if (isError)
                    {
                        stderrTail.Enqueue(line);
                        if (stderrTail.Count > stderrTailLines) stderrTail.Dequeue();
                    }
                    else
                    {
                        stdout.Add(line);
                    }
                    if (onLine is not null) await onLine(line);
                }
                finally
                {
                    gate.Release();
                }
            }
        }

        try
        {
            await Task.WhenAll(Pump(process.StandardOutput, false), Pump(process.StandardError, true));
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            activity?.SetStatus(ActivityStatusCode.Error, "cancelled");
            throw;
        }

        activity?.SetTag("process.exit.code", process.ExitCode);
        if (process.ExitCode != 0) activity?.SetStatus(ActivityStatusCode.Error, $"exit code {process.ExitCode}");
        return new ProcessResult(process.ExitCode, stdout, [.. stderrTail]);
    }
}

/// <summary>How <see cref="ProcessRunner"/> starts a program, beyond its arguments.</summary>
public sealed record ProcessOptions
{
    /// <summary>The working directory; the agent's own when null.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Variables for this process only, over the allow-listed environment.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Written to the program's standard input, which is then closed.</summary>
    public string? StandardInput { get; init; }

    /// <summary>How many of the last stderr lines the result keeps.</summary>
    public int StderrTailLines { get; init; } = 20;
}

/// <summary>What a finished process left: exit code, its stdout lines, and the last lines of its stderr.</summary>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="StandardOutput">Every stdout line.</param>
/// <param name="StandardErrorTail">The last lines of stderr.</param>
public sealed record ProcessResult(int ExitCode, IReadOnlyList<string> StandardOutput, IReadOnlyList<string> StandardErrorTail);
