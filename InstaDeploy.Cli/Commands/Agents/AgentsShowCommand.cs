using System.CommandLine;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Agents;

/// <summary><c>instadeploy agents show ID</c>: GET /agents/{id}.</summary>
public sealed class AgentsShowCommand : BaseCommand
{
    private readonly Argument<string> _agent = AgentArguments.Id();

    public AgentsShowCommand(CommandServices services) : base("show", "Show one agent: state, times, labels, plugins and command types", services)
    {
        Add(_agent);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var agent = await context.Api.GetAsync($"/agents/{InstaDeployApiClient.Escape(context.Required(_agent))}", cancellationToken);
        context.Output.Write(agent, () =>
        {
            context.Output.WriteDetails([
                ("id", Styles.Text(agent, "id")),
                ("hostname", Styles.Text(agent, "hostname")),
                ("online", Styles.Text(agent, "online")),
                ("version", Styles.Text(agent, "version")),
                ("architecture", Styles.Text(agent, "architecture")),
                ("first seen", Styles.Time(agent, "first_seen")),
                ("connected at", Styles.Time(agent, "connected_at")),
                ("last seen", Styles.Time(agent, "last_seen")),
                ("labels", Styles.Text(agent, "labels")),
                ("announced labels", Styles.Text(agent, "announced_labels")),
                ("label overrides", Styles.Text(agent, "label_overrides")),
                ("command types", Styles.Text(agent, "command_types")),
            ]);
            var plugins = new TableView("PLUGIN", "VERSION", "COMMAND TYPES") { EmptyMessage = "(no plugins reported)" };
            if (agent.TryGetProperty("plugins", out var list))
                foreach (var plugin in Styles.Items(list))
                    plugins.Add(Styles.Text(plugin, "name"), Styles.Text(plugin, "version"), Styles.Text(plugin, "command_types"));
            context.Output.Stdout.WriteLine();
            context.Output.WriteTable(plugins);
        }, () => [Styles.Text(agent, "id")]);
        return ExitCodes.Success;
    }
}
