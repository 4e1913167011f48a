using System.CommandLine;

namespace InstaDeploy.Cli.Commands.Projects;

/// <summary><c>instadeploy stop PROJECT</c>: POST /stop (docker compose down on its agent).</summary>
public sealed class StopCommand : BaseCommand
{
    private readonly Argument<string> _project = ProjectArguments.Project();
    private readonly Option<string?> _agent = ProjectArguments.Agent();
    private readonly JobOptions _job = new();

    public StopCommand(CommandServices services) : base("stop", "Stop a project (docker compose down on its agent)", services)
    {
        Add(_project);
        Add(_agent);
        _job.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var project = context.Required(_project);
        var accepted = await context.Api.PostAsync("/stop", new
        {
            project_name = project,
            agent_id = context.Value(_agent),
            timeout_seconds = context.Value(_job.Timeout),
            fail_fast = context.Value(_job.FailFast),
        }, cancellationToken);
        return await JobRunner.CompleteAsync(context, accepted, _job.Mode(context), $"Stopping {project}", cancellationToken);
    }
}
