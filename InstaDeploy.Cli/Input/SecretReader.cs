namespace InstaDeploy.Cli.Input;

/// <summary>
/// Reads an API key or a secret value from a prompt that does not echo (standard input is a terminal) or from standard
/// input (a pipe: <c>printenv KEY | instadeploy login</c>), never from an argument, where it would stay in the shell's
/// history and in <c>ps</c>.
/// </summary>
public sealed class SecretReader(CliEnvironment environment)
{
    /// <summary>Most characters read from standard input: variable values are at most 64 KiB.</summary>
    private const int MaxChars = 256 * 1024;

    /// <summary>The value, with one trailing line break removed (what <c>echo</c> adds); other whitespace is kept.</summary>
    public async Task<string> ReadAsync(string prompt, string what, CancellationToken cancellationToken)
    {
        if (environment.InputIsTerminal && environment.ReadHiddenLine is { } readHidden)
        {
            await environment.Error.WriteAsync(prompt);
            await environment.Error.FlushAsync(cancellationToken);
            var typed = readHidden();
            await environment.Error.WriteLineAsync();
            return typed ?? throw new CliException(ExitCodes.Interrupted, $"No {what} entered.");
        }

        var buffer = new char[MaxChars + 1];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await environment.Input.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0) break;
            length += read;
        }
        if (length > MaxChars) throw CliException.Usage($"The {what} on standard input is longer than {MaxChars / 1024} KiB.");
        var text = new string(buffer, 0, length);
        if (text.EndsWith("\r\n", StringComparison.Ordinal)) text = text[..^2];
        else if (text.EndsWith('\n')) text = text[..^1];
        return text;
    }
}
