using System.CommandLine;
using System.Globalization;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary><c>instadeploy rollouts ls [--project P] [--state S] [--limit N]</c>: GET /rollouts, newest first.</summary>
public sealed class RolloutsListCommand : BaseCommand
{
    private readonly Option<string?> _project = new("--project", "-p") { Description = "Only this project's rollouts", HelpName = "name" };
    private readonly Option<string?> _state = new Option<string?>("--state") { Description = "Only rollouts in this state", HelpName = "state" }
        .AcceptOnlyFromAmong("pending", "running", "paused", "rolling_back", "succeeded", "failed", "rolled_back", "cancelled");
    private readonly Option<int?> _limit = new("--limit") { Description = "At most this many (server default 50, max 1000)", HelpName = "n" };

    public RolloutsListCommand(CommandServices services) : base("ls", "List rollouts, newest first", services)
    {
        Aliases.Add("list");
        Add(_project);
        Add(_state);
        Add(_limit);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var rollouts = await context.Api.GetAsync("/rollouts" + InstaDeployApiClient.Query(
            ("project_name", context.Value(_project)),
            ("state", context.Value(_state)),
            ("limit", context.Value(_limit)?.ToString(CultureInfo.InvariantCulture))), cancellationToken);
        context.Output.Write(rollouts, () =>
        {
            var table = new TableView("ROLLOUT", "PROJECT", "STATE", "DONE", "FAILED", "TARGETS BY", "CREATED") { EmptyMessage = "No rollouts." };
            foreach (var r in Styles.Items(rollouts))
                table.Add(RolloutView.Id(r), Styles.Text(r, "project_name"), RolloutView.State(r) + (RolloutView.Awaiting(r) ? " (awaiting promotion)" : ""),
                    $"{RolloutView.Done(r)}/{RolloutView.Count(r, "total")}", RolloutView.Count(r, "failed").ToString(CultureInfo.InvariantCulture),
                    Styles.Text(r, "selector") ?? "agent ids", Styles.Time(r, "created_at"));
            context.Output.WriteTable(table);
        }, () => Styles.Items(rollouts).Select(RolloutView.Id));
        return ExitCodes.Success;
    }
}
