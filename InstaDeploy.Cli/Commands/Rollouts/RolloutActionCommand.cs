using System.CommandLine;
using InstaDeploy.Cli.Api;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary><c>instadeploy rollouts pause|resume|promote|cancel ID</c>: POST /rollouts/{id}/{action}, which answers the
/// rollout as it is now; a rollout in a state the action does not apply to is a 409 (exit 1) saying why.</summary>
public sealed class RolloutActionCommand : BaseCommand
{
    private readonly string _action;
    private readonly Argument<string> _id = RolloutArguments.Id();

    public RolloutActionCommand(string action, string description, CommandServices services) : base(action, description, services)
    {
        _action = action;
        Add(_id);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var id = context.Required(_id);
        var rollout = await context.Api.PostAsync($"/rollouts/{InstaDeployApiClient.Escape(id)}/{_action}", null, cancellationToken);
        context.Output.Write(rollout, () =>
        {
            context.Output.Note($"Rollout {id}: {_action} done. Now {RolloutView.Line(rollout)}");
            if (RolloutView.PausedHint(rollout) is { } hint) context.Output.Note(hint);
        }, () => [id]);
        return ExitCodes.Success;
    }
}
