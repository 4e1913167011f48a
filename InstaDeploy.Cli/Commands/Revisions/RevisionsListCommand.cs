using System.CommandLine;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Commands.Projects;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Revisions;

/// <summary><c>instadeploy revisions ls PROJECT</c>: GET /deployments/{p}/revisions, newest first.</summary>
public sealed class RevisionsListCommand : BaseCommand
{
    private readonly Argument<string> _project = ProjectArguments.Project();
    private readonly Option<string?> _agent = ProjectArguments.Agent("Only revisions deployed on this agent");
    private readonly Option<int?> _limit = new("--limit") { Description = "At most this many (server default 50)", HelpName = "n" };

    public RevisionsListCommand(CommandServices services) : base("ls", "List a project's revisions, newest first", services)
    {
        Aliases.Add("list");
        Add(_project);
        Add(_agent);
        Add(_limit);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var revisions = await context.Api.GetAsync($"/deployments/{InstaDeployApiClient.Escape(context.Required(_project))}/revisions" + InstaDeployApiClient.Query(
            ("agent_id", context.Value(_agent)), ("limit", context.Value(_limit)?.ToString(System.Globalization.CultureInfo.InvariantCulture))), cancellationToken);
        context.Output.Write(revisions, () =>
        {
            var table = new TableView("REVISION", "CURRENT", "AGENT", "OUTCOME", "CREATED", "BY", "ROLLBACK OF", "COMPOSE SHA256");
            foreach (var r in Styles.Items(revisions))
                table.Add(Styles.Text(r, "revision"), Styles.Text(r, "current") == "yes" ? "*" : "", Styles.Text(r, "agent_id"), Styles.Text(r, "outcome"),
                    Styles.Time(r, "created_at"), Styles.Text(r, "created_by"), Styles.Text(r, "rollback_of"), Short(Styles.Text(r, "compose_sha256")));
            context.Output.WriteTable(table);
        }, () => Styles.Items(revisions).Select(r => Styles.Text(r, "revision")));
        return ExitCodes.Success;
    }

    private static string? Short(string? hash) => hash is { Length: > 12 } ? hash[..12] : hash;
}
