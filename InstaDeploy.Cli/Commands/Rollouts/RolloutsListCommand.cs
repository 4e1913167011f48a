using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary><c>instadeploy rollouts ls</c>: GET /rollouts.</summary>
public sealed class RolloutsListCommand : BaseCommand
{
    public RolloutsListCommand(CommandServices services) : base("ls", "List rollouts", services) => Aliases.Add("list");

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var rollouts = await context.Api.GetAsync("/rollouts", cancellationToken);
        context.Output.Write(rollouts, () =>
        {
            var table = new TableView("ROLLOUT", "PROJECT", "STATE", "DONE", "FAILED", "CREATED") { EmptyMessage = "No rollouts." };
            foreach (var r in Styles.Items(rollouts))
                table.Add(RolloutView.Id(r), Styles.Text(r, "project_name"), RolloutView.State(r),
                    $"{RolloutView.Count(r, "succeeded") + RolloutView.Count(r, "failed") + RolloutView.Count(r, "skipped")}/{RolloutView.Count(r, "total")}",
                    RolloutView.Count(r, "failed").ToString(System.Globalization.CultureInfo.InvariantCulture), Styles.Time(r, "created_at"));
            context.Output.WriteTable(table);
        }, () => Styles.Items(rollouts).Select(RolloutView.Id));
        return ExitCodes.Success;
    }
}
