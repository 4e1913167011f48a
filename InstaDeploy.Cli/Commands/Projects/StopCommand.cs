using System.CommandLine;

namespace InstaDeploy.Cli.Commands.Projects;

/// <summary><c>instadeploy stop PROJECT [--agent ID | --selector S]</c>: POST /stop (docker compose down on its agent,
/// or on every selected agent it is placed on).</summary>
public sealed class StopCommand : BaseCommand
{
    private readonly Argument<string> _project = ProjectArguments.Project();
    private readonly Option<string?> _agent = ProjectArguments.Agent();
    private readonly Option<string?> _selector = ProjectArguments.Selector("Stop it on every agent it is placed on whose labels match, e.g. region=eu");
    private readonly JobOptions _job = new();

    public StopCommand(CommandServices services) : base("stop", "Stop a project (docker compose down on its agent, or on every selected agent)", services)
    {
        Add(_project);
        Add(_agent);
        Add(_selector);
        _job.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var project = context.Required(_project);
        var selector = context.Value(_selector);
        if (selector is not null && context.Value(_agent) is not null) throw CliException.Usage("Give --agent or --selector, not both.");
        var accepted = await context.Api.PostAsync("/stop", new
        {
            project_name = project,
            agent_id = context.Value(_agent),
            selector,
            timeout_seconds = context.Value(_job.Timeout),
            queue_ttl_seconds = context.Value(_job.QueueTtl),
            fail_fast = context.Value(_job.FailFast),
        }, cancellationToken);
        // With --follow, several agents' output would interleave: their jobs are waited for, `jobs logs` shows each.
        return selector is null
            ? await JobRunner.CompleteAsync(context, accepted, _job.Mode(context), $"Stopping {project}", cancellationToken)
            : await FanOutRunner.CompleteAsync(context, accepted, _job.Mode(context) == JobMode.Return ? JobMode.Return : JobMode.Wait, project, $"Stopping {project}", cancellationToken);
    }
}
