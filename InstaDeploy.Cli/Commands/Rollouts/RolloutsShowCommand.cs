using System.CommandLine;
using InstaDeploy.Cli.Api;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary><c>instadeploy rollouts show ID [--watch [--until-promotion]]</c>: GET /rollouts/{id}; with --watch, its
/// events live until it ends, exiting 0 only if it succeeded.</summary>
public sealed class RolloutsShowCommand : BaseCommand
{
    private readonly Argument<string> _id = RolloutArguments.Id();
    private readonly Option<bool> _watch = new("--watch", "-w") { Description = "Follow it live until it ends; exit 0 if it succeeded, 1 if not (for CI)" };
    private readonly Option<bool> _untilPromotion = new("--until-promotion")
    {
        Description = "With --watch: stop once its canaries succeeded and it waits for promotion (exit 0)",
    };

    public RolloutsShowCommand(CommandServices services) : base("show", "Show a rollout: state, strategy, each target; --watch follows it to its end", services)
    {
        Add(_id);
        Add(_watch);
        Add(_untilPromotion);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var id = context.Required(_id);
        if (context.Value(_watch)) return await RolloutWatcher.WatchAsync(context, id, context.Value(_untilPromotion), quietly: false, cancellationToken);
        if (context.Value(_untilPromotion)) throw CliException.Usage("--until-promotion stops a watch: add --watch.");
        var rollout = await context.Api.GetAsync($"/rollouts/{InstaDeployApiClient.Escape(id)}", cancellationToken);
        context.Output.Write(rollout, () =>
        {
            context.Output.WriteDetails(RolloutView.Details(rollout));
            context.Output.Stdout.WriteLine();
            context.Output.WriteTable(RolloutView.Targets(rollout));
            if (RolloutView.PausedHint(rollout) is { } hint) context.Output.Note(hint);
        }, () => [RolloutView.Id(rollout)]);
        return ExitCodes.Success;
    }
}
