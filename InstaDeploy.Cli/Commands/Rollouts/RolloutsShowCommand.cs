using System.CommandLine;
using InstaDeploy.Cli.Api;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary><c>instadeploy rollouts show ID [--watch]</c>: GET /rollouts/{id}; with --watch, a live view until it ends.</summary>
public sealed class RolloutsShowCommand : BaseCommand
{
    private readonly Argument<string> _id = new("rollout") { Description = "The rollout's id" };
    private readonly Option<bool> _watch = new("--watch", "-w") { Description = "Follow it live until it ends; exit 1 if it fails" };

    public RolloutsShowCommand(CommandServices services) : base("show", "Show a rollout: state, counts, each target; --watch for a live view", services)
    {
        Add(_id);
        Add(_watch);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var id = context.Required(_id);
        if (context.Value(_watch)) return await RolloutWatcher.WatchAsync(context, id, cancellationToken);
        var rollout = await context.Api.GetAsync($"/rollouts/{InstaDeployApiClient.Escape(id)}", cancellationToken);
        context.Output.Write(rollout, () =>
        {
            context.Output.WriteDetails(RolloutView.Details(rollout));
            context.Output.Stdout.WriteLine();
            context.Output.WriteTable(RolloutView.Targets(rollout));
        }, () => [RolloutView.Id(rollout)]);
        return ExitCodes.Success;
    }
}
