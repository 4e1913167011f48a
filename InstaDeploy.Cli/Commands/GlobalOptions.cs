using System.CommandLine;

namespace InstaDeploy.Cli.Commands;

/// <summary>The options every command takes (declared once on the root, recursive).</summary>
public sealed class GlobalOptions
{
    public Option<string?> Context { get; } = new("--context")
    {
        Description = "Use this context (its URL and key) instead of the current one; overrides INSTADEPLOY_URL and INSTADEPLOY_API_KEY",
        HelpName = "name",
        Recursive = true,
    };

    public Option<string?> Url { get; } = new("--url")
    {
        Description = "The control plane's URL, overriding the context and INSTADEPLOY_URL",
        HelpName = "url",
        Recursive = true,
    };

    public Option<string> Output { get; } = new Option<string>("--output", "-o")
    {
        Description = "table (for people) or json (the API's own JSON, for scripts)",
        DefaultValueFactory = _ => "table",
        HelpName = "table|json",
        Recursive = true,
    }.AcceptOnlyFromAmong("table", "json");

    public Option<bool> Quiet { get; } = new("--quiet", "-q")
    {
        Description = "Print only ids (one per line) and no notes",
        Recursive = true,
    };

    public Option<bool> NoColor { get; } = new("--no-color")
    {
        Description = "No colour and no progress animation (also when NO_COLOR is set or the output is not a terminal)",
        Recursive = true,
    };

    public IEnumerable<Option> All => [Context, Url, Output, Quiet, NoColor];
}
