namespace InstaDeploy.Cli;

/// <summary>A failure the CLI reports as one line on standard error, with the exit code that says what kind it is.</summary>
public class CliException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;

    public static CliException Usage(string message) => new(ExitCodes.Usage, message);
}
