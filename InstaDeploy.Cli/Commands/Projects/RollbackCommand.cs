using System.CommandLine;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Commands.Rollouts;

namespace InstaDeploy.Cli.Commands.Projects;

/// <summary><c>instadeploy rollback PROJECT [--to N] [--agent ID | --selector S + strategy]</c>: POST
/// /deployments/{p}/rollback on one agent; with a selector, a rollout (POST /rollouts with rollback_to) of the newest
/// compose file that succeeded on every selected agent, or revision N's.</summary>
public sealed class RollbackCommand : BaseCommand
{
    private readonly Argument<string> _project = ProjectArguments.Project();
    private readonly Option<int?> _to = new("--to")
    {
        Description = "The revision to go back to (default: the last successful one before what runs now; with --selector, the newest file that succeeded on every target)",
        HelpName = "revision",
    };
    private readonly Option<string?> _agent = ProjectArguments.Agent();
    private readonly Option<string?> _selector = ProjectArguments.Selector("Roll back every agent whose labels match, as a rollout (see the rollout flags)");
    private readonly Option<int?> _healthWait = new("--health-wait") { Description = "Seconds to wait for the containers to be running and healthy (0: do not wait)", HelpName = "seconds" };
    private readonly JobOptions _job = new();
    private readonly RolloutStrategyOptions _strategy = new();

    public RollbackCommand(CommandServices services)
        : base("rollback", "Deploy an earlier revision again (its compose file and variables), on one agent or a fleet; --follow streams it", services)
    {
        Add(_project);
        Add(_to);
        Add(_agent);
        Add(_selector);
        Add(_healthWait);
        _job.AddTo(this);
        _strategy.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var project = context.Required(_project);
        var to = context.Value(_to);
        var selector = context.Value(_selector);
        if (selector is not null && context.Value(_agent) is not null) throw CliException.Usage("Give --agent or --selector, not both.");
        if (selector is null)
        {
            if (_strategy.FirstGiven(context) is { } flag) throw CliException.Usage($"{flag} applies to a rollout: add --selector.");
            var accepted = await context.Api.PostAsync($"/deployments/{InstaDeployApiClient.Escape(project)}/rollback", new
            {
                revision = to,
                agent_id = context.Value(_agent),
                health_wait_seconds = context.Value(_healthWait),
                timeout_seconds = context.Value(_job.Timeout),
                queue_ttl_seconds = context.Value(_job.QueueTtl),
                fail_fast = context.Value(_job.FailFast),
            }, cancellationToken);
            return await JobRunner.CompleteAsync(context, accepted, _job.Mode(context), $"Rolling {project} back{(to is null ? "" : $" to revision {to}")}", cancellationToken);
        }

        RolloutLauncher.RefuseSingleAgentFlags(context, _job);
        return await RolloutLauncher.StartAsync(context, new Dictionary<string, object?>
        {
            ["project_name"] = project,
            ["rollback_to"] = to is { } revision ? revision : "newest_common",
            ["targets"] = RolloutLauncher.Targets(selector, []),
            ["strategy"] = _strategy.Strategy(context, context.Value(_healthWait)),
            ["timeout_seconds"] = context.Value(_job.Timeout),
            ["queue_ttl_seconds"] = context.Value(_job.QueueTtl),
        }, _job.Mode(context), context.Value(_strategy.UntilPromotion), cancellationToken);
    }
}
