using System.CommandLine;
using System.Text.Json;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Agents;

/// <summary><c>instadeploy agents ls [--selector S]</c>: GET /agents.</summary>
public sealed class AgentsListCommand : BaseCommand
{
    private readonly Option<string?> _selector = new("--selector", "-l")
    {
        Description = "Only agents whose labels match, e.g. 'env=prod,region in (eu,us)' (needs a control plane with agent labels)",
        HelpName = "selector",
    };

    public AgentsListCommand(CommandServices services) : base("ls", "List agents: online, version, last seen, labels", services)
    {
        Aliases.Add("list");
        Add(_selector);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var selector = context.Value(_selector);
        var agents = await context.Api.GetAsync("/agents" + InstaDeployApiClient.Query(("selector", selector)), cancellationToken);
        // A control plane without labels ignores the parameter and answers every agent: that must not pass for a match.
        if (selector is not null && Styles.Items(agents).Any(a => !a.TryGetProperty("labels", out _)))
            throw new CliException(ExitCodes.Usage, $"{context.Api.BaseUrl} does not know agent labels yet, so it cannot select agents by '{selector}'; it needs a newer control plane.");
        context.Output.Write(agents, () => context.Output.WriteTable(Table(agents)), () => Styles.Items(agents).Select(a => Styles.Text(a, "id")));
        return ExitCodes.Success;
    }

    internal static TableView Table(JsonElement agents)
    {
        var items = Styles.Items(agents).ToList();
        var labelled = items.Any(a => a.TryGetProperty("labels", out _));
        var table = new TableView(labelled
            ? ["ID", "ONLINE", "VERSION", "ARCHITECTURE", "LAST SEEN", "LABELS"]
            : ["ID", "ONLINE", "VERSION", "ARCHITECTURE", "LAST SEEN"]) { EmptyMessage = "No agent has connected yet." };
        foreach (var agent in items)
        {
            string?[] row = [Styles.Text(agent, "id"), Styles.Text(agent, "online") == "yes" ? "online" : "offline",
                Styles.Text(agent, "version"), Styles.Text(agent, "architecture"), Styles.Time(agent, "last_seen")];
            table.Add(labelled ? [.. row, Styles.Text(agent, "labels")] : row);
        }
        return table;
    }
}
