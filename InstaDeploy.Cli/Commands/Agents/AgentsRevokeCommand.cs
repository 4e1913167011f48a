using System.CommandLine;
using InstaDeploy.Cli.Api;

namespace InstaDeploy.Cli.Commands.Agents;

/// <summary><c>instadeploy agents revoke ID</c>: POST /agents/{id}/revoke (admin).</summary>
public sealed class AgentsRevokeCommand : BaseCommand
{
    private readonly Argument<string> _agent = AgentArguments.Id();

    public AgentsRevokeCommand(CommandServices services)
        : base("revoke", "Disconnect an agent now and refuse it from then on (it must enroll again); needs an admin key", services)
    {
        Add(_agent);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var agent = context.Required(_agent);
        await context.Api.PostAsync($"/agents/{InstaDeployApiClient.Escape(agent)}/revoke", null, cancellationToken);
        context.Output.Note($"Revoked agent '{agent}'.");
        return ExitCodes.Success;
    }
}
