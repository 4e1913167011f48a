using System.CommandLine;
using InstaDeploy.Cli.Commands.Projects;
using InstaDeploy.Cli.Output;
using Spectre.Console;

namespace InstaDeploy.Cli.Commands.Revisions;

/// <summary>
/// <c>instadeploy revisions diff PROJECT FROM [TO]</c>: a unified diff of two revisions' compose files (TO defaults to
/// FROM + 1), by DiffPlex.
/// </summary>
public sealed class RevisionsDiffCommand : BaseCommand
{
    private readonly Argument<string> _project = ProjectArguments.Project();
    private readonly Argument<int> _from = new("from") { Description = "The older revision" };
    private readonly Argument<int?> _to = new("to") { Description = "The newer revision (default: from + 1)", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<int> _context = new("--context-lines", "-U") { Description = "Unchanged lines shown around each change", DefaultValueFactory = _ => 3, HelpName = "n" };

    public RevisionsDiffCommand(CommandServices services) : base("diff", "Show what changed in the compose file between two revisions", services)
    {
        Add(_project);
        Add(_from);
        Add(_to);
        Add(_context);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var project = context.Required(_project);
        var from = context.Required(_from);
        var to = context.Value(_to) ?? from + 1;
        var older = await RevisionsShowCommand.GetAsync(context, project, from, cancellationToken);
        var newer = await RevisionsShowCommand.GetAsync(context, project, to, cancellationToken);
        var lines = UnifiedDiff.Create(RevisionsShowCommand.ComposeText(older), RevisionsShowCommand.ComposeText(newer),
            $"{project} revision {from}", $"{project} revision {to}", Math.Max(0, context.Value(_context)));
        var text = lines.Count == 0 ? "" : string.Join('\n', lines) + "\n";
        if (context.Output.IsJson)
        {
            context.Output.WriteJson(new { project_name = project, from, to, from_sha256 = Styles.Text(older, "compose_sha256"), to_sha256 = Styles.Text(newer, "compose_sha256"), diff = text });
            return ExitCodes.Success;
        }
        if (lines.Count == 0)
        {
            context.Output.Note($"Revisions {from} and {to} of {project} deploy the same compose file.");
            return ExitCodes.Success;
        }
        if (!context.Output.Colour)
        {
            await context.Output.WriteTextAsync(text);
            return ExitCodes.Success;
        }
        foreach (var line in lines)
        {
            var colour = line.StartsWith("+++") || line.StartsWith("---") ? "bold" : line[0] switch { '+' => "green", '-' => "red", '@' => "cyan", _ => "default" };
            context.Output.Out.MarkupLine($"[{colour}]{Markup.Escape(line)}[/]");
        }
        return ExitCodes.Success;
    }
}
