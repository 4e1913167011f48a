using System.CommandLine;
using System.Text.Json;
using InstaDeploy.Cli.Api;

namespace InstaDeploy.Cli.Commands.Agents;

/// <summary><c>instadeploy agents run ID TYPE [--payload JSON]</c>: POST /agents/{id}/commands, for plugin command types.</summary>
public sealed class AgentsRunCommand : BaseCommand
{
    private readonly Argument<string> _agent = AgentArguments.Id();
    private readonly Argument<string> _type = new("type") { Description = "The command type, e.g. RESTART_COMPOSE (`instadeploy agents show ID` lists the agent's)" };
    private readonly Option<string?> _payload = new("--payload") { Description = "The command's payload, a JSON object (default {})", HelpName = "json" };
    private readonly JobOptions _job = new();

    public AgentsRunCommand(CommandServices services) : base("run", "Run a command type that a plugin adds (e.g. RESTART_COMPOSE) on an agent", services)
    {
        Add(_agent);
        Add(_type);
        Add(_payload);
        _job.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        JsonElement payload;
        try
        {
            payload = JsonElement.Parse(context.Value(_payload) ?? "{}");
        }
        catch (JsonException e)
        {
            throw CliException.Usage($"--payload is not JSON: {e.Message}");
        }
        var agent = context.Required(_agent);
        var accepted = await context.Api.PostAsync($"/agents/{InstaDeployApiClient.Escape(agent)}/commands", new
        {
            type = context.Required(_type),
            payload,
            timeout_seconds = context.Value(_job.Timeout),
            queue_ttl_seconds = context.Value(_job.QueueTtl),
            fail_fast = context.Value(_job.FailFast),
        }, cancellationToken);
        return await JobRunner.CompleteAsync(context, accepted, _job.Mode(context), $"{context.Required(_type)} on {agent}", cancellationToken);
    }
}
