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
        Description = "Only agents whose labels match: role=web, role!=db, 'region in (eu,us)', 'zone notin (a)', gpu, !gpu, joined by commas (all must hold)",
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
        var agents = await context.Api.GetAllAsync("/agents" + InstaDeployApiClient.Query(("selector", selector)), cancellationToken);
        context.Output.Write(agents, () =>
        {
            var table = Table(agents);
            if (selector is not null && table.Rows.Count == 0) context.Output.Note($"No agent's labels match '{selector}'; `instadeploy agents ls` shows every agent's labels.");
            else context.Output.WriteTable(table);
        }, () => Styles.Items(agents).Select(a => Styles.Text(a, "id")));
        return ExitCodes.Success;
    }

    internal static TableView Table(JsonElement agents)
    {
        var items = Styles.Items(agents).ToList();
        var labelled = items.Any(a => a.TryGetProperty("labels", out _));
        var table = new TableView(labelled
            ? ["ID", "ONLINE", "VERSION", "ARCHITECTURE", "LAST SEEN", "LABELS"]
            : ["ID", "ONLINE", "VERSION", "ARCHITECTURE", "LAST SEEN"])
        { EmptyMessage = "No agent has connected yet." };
        foreach (var agent in items)
        {
            string?[] row = [Styles.Text(agent, "id"), Styles.Text(agent, "online") == "yes" ? "online" : "offline",
                Styles.Text(agent, "version"), Styles.Text(agent, "architecture"), Styles.Time(agent, "last_seen")];
            table.Add(labelled ? [.. row, Styles.Text(agent, "labels")] : row);
        }
        return table;
    }
}
