using System.CommandLine;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Commands.Projects;

namespace InstaDeploy.Cli.Commands.Env;

/// <summary><c>instadeploy env rm PROJECT NAME [--agent ID]</c>: DELETE /deployments/{p}/env/{name}.</summary>
public sealed class EnvRemoveCommand : BaseCommand
{
    private readonly Argument<string> _project = ProjectArguments.Project();
    private readonly Argument<string> _name = new("name") { Description = "The variable's name" };
    private readonly Option<string?> _agent = ProjectArguments.Agent("Remove only this agent's override");

    public EnvRemoveCommand(CommandServices services) : base("rm", "Remove a project variable (or one agent's override)", services)
    {
        Aliases.Add("remove");
        Add(_project);
        Add(_name);
        Add(_agent);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var project = context.Required(_project);
        var name = context.Required(_name);
        await context.Api.DeleteAsync($"/deployments/{InstaDeployApiClient.Escape(project)}/env/{InstaDeployApiClient.Escape(name)}" +
            InstaDeployApiClient.Query(("agent_id", context.Value(_agent))), cancellationToken);
        context.Output.Note($"Removed {name} from {project}; it takes effect at the next deploy.");
        return ExitCodes.Success;
    }
}
