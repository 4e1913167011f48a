namespace InstaDeploy.Cli;

/// <summary>
/// What the CLI reads and writes: the process's console, environment and home folder, or a test's stand-ins, so a
/// command runs the same in-process (tests) and as the installed tool.
/// </summary>
public sealed class CliEnvironment
{
    public required TextReader Input { get; init; }

    public required TextWriter Output { get; init; }

    public required TextWriter Error { get; init; }

    /// <summary>Environment variables; a missing name reads as null.</summary>
    public required IReadOnlyDictionary<string, string?> Variables { get; init; }

    /// <summary>The user's home folder, where <c>~/.config/instadeploy</c> lives unless XDG_CONFIG_HOME says otherwise.</summary>
    public required string HomeDirectory { get; init; }

    public bool InputIsTerminal { get; init; }

    public bool OutputIsTerminal { get; init; }

    public bool ErrorIsTerminal { get; init; }

    /// <summary>Columns of the terminal, when the output is one.</summary>
    public int? TerminalWidth { get; init; }

    /// <summary>Reads one line from the terminal without echoing it (a key or a secret typed at a prompt).</summary>
    public Func<string?>? ReadHiddenLine { get; init; }

    public string? GetVariable(string name) => Variables.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value : null;

    /// <summary><c>$XDG_CONFIG_HOME/instadeploy</c>, or <c>~/.config/instadeploy</c>.</summary>
    public string ConfigDirectory =>
        Path.Combine(GetVariable("XDG_CONFIG_HOME") is { } xdg && Path.IsPathRooted(xdg) ? xdg : Path.Combine(HomeDirectory, ".config"), "instadeploy");

    /// <summary>Colour is off when NO_COLOR is set (any value, https://no-color.org) or the output is not a terminal.</summary>
    public bool NoColorRequested => Variables.TryGetValue("NO_COLOR", out var value) && value is not null;

    public static CliEnvironment FromProcess() => new()
    {
        Input = Console.In,
        Output = Console.Out,
        Error = Console.Error,
        Variables = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal),
        HomeDirectory = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
        InputIsTerminal = !Console.IsInputRedirected,
        OutputIsTerminal = !Console.IsOutputRedirected,
        ErrorIsTerminal = !Console.IsErrorRedirected,
        TerminalWidth = Console.IsOutputRedirected ? null : SafeWindowWidth(),
        ReadHiddenLine = ReadHiddenConsoleLine,
    };

    private static int? SafeWindowWidth()
    {
        try { return Console.WindowWidth > 0 ? Console.WindowWidth : null; }
        catch (IOException) { return null; }
    }

    /// <summary>Reads keys without echo until Enter; Backspace edits, Ctrl+C (as a key) gives up.</summary>
    private static string? ReadHiddenConsoleLine()
    {
        var text = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    return text.ToString();
                case ConsoleKey.Backspace:
                    if (text.Length > 0) text.Length--;
                    break;
                default:
                    if (key.Key == ConsoleKey.C && key.Modifiers.HasFlag(ConsoleModifiers.Control)) return null;
                    if (!char.IsControl(key.KeyChar)) text.Append(key.KeyChar);
                    break;
            }
        }
    }
}
