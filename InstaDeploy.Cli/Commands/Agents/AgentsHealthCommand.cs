using System.CommandLine;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Agents;

/// <summary><c>instadeploy agents health ID</c>: POST /agents/{id}/health, then the report (exit 1 if unhealthy).</summary>
public sealed class AgentsHealthCommand : BaseCommand
{
    private readonly Argument<string> _agent = AgentArguments.Id();

    public AgentsHealthCommand(CommandServices services)
        : base("health", "Health-check an agent (Docker engine, compose, disk, plugins) and wait for the report; exit 1 if unhealthy", services)
    {
        Add(_agent);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var agent = context.Required(_agent);
        var accepted = await context.Api.PostAsync($"/agents/{InstaDeployApiClient.Escape(agent)}/health", null, cancellationToken);
        return await JobRunner.CompleteAsync(context, accepted, JobMode.Wait, $"Health check of {agent}", cancellationToken,
            job => context.Output.Stdout.Write(Styles.Text(job, "logs")));
    }
}
