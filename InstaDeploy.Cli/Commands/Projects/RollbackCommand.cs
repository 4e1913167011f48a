using System.CommandLine;
using InstaDeploy.Cli.Api;

namespace InstaDeploy.Cli.Commands.Projects;

/// <summary><c>instadeploy rollback PROJECT [--to N]</c>: POST /deployments/{p}/rollback.</summary>
public sealed class RollbackCommand : BaseCommand
{
    private readonly Argument<string> _project = ProjectArguments.Project();
    private readonly Option<int?> _to = new("--to") { Description = "The revision to go back to (default: the last successful one before what runs now)", HelpName = "revision" };
    private readonly Option<string?> _agent = ProjectArguments.Agent();
    private readonly Option<int?> _healthWait = new("--health-wait") { Description = "Seconds to wait for the containers to be running and healthy (0: do not wait)", HelpName = "seconds" };
    private readonly JobOptions _job = new();

    public RollbackCommand(CommandServices services)
        : base("rollback", "Deploy an earlier revision again (its compose file and variables); --follow streams it", services)
    {
        Add(_project);
        Add(_to);
        Add(_agent);
        Add(_healthWait);
        _job.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var project = context.Required(_project);
        var to = context.Value(_to);
        var accepted = await context.Api.PostAsync($"/deployments/{InstaDeployApiClient.Escape(project)}/rollback", new
        {
            revision = to,
            agent_id = context.Value(_agent),
            health_wait_seconds = context.Value(_healthWait),
            timeout_seconds = context.Value(_job.Timeout),
            fail_fast = context.Value(_job.FailFast),
        }, cancellationToken);
        return await JobRunner.CompleteAsync(context, accepted, _job.Mode(context), $"Rolling {project} back{(to is null ? "" : $" to revision {to}")}", cancellationToken);
    }
}
