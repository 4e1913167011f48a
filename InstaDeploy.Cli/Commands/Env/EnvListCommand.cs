using System.CommandLine;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Commands.Projects;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Env;

/// <summary><c>instadeploy env ls PROJECT [--agent ID]</c>: GET /deployments/{p}/env (secret values are masked by the server).</summary>
public sealed class EnvListCommand : BaseCommand
{
    private readonly Argument<string> _project = ProjectArguments.Project();
    private readonly Option<string?> _agent = ProjectArguments.Agent("Only what this agent gets (its overrides and the project-wide rest)");

    public EnvListCommand(CommandServices services) : base("ls", "List a project's variables (secret values shown as ********)", services)
    {
        Aliases.Add("list");
        Add(_project);
        Add(_agent);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var project = context.Required(_project);
        var answer = await context.Api.GetAsync($"/deployments/{InstaDeployApiClient.Escape(project)}/env" + InstaDeployApiClient.Query(("agent_id", context.Value(_agent))), cancellationToken);
        var variables = answer.TryGetProperty("variables", out var list) ? Styles.Items(list).ToList() : [];
        context.Output.Write(answer, () =>
        {
            var table = new TableView("NAME", "VALUE", "SECRET", "AGENT", "UPDATED") { EmptyMessage = $"Project '{project}' has no variables." };
            foreach (var v in variables)
                table.Add(Styles.Text(v, "name"), Styles.Text(v, "value"), Styles.Text(v, "secret"), Styles.Text(v, "agent_id") ?? "(all)", Styles.Time(v, "updated_at"));
            context.Output.WriteTable(table);
        }, () => variables.Select(v => Styles.Text(v, "name")));
        return ExitCodes.Success;
    }
}
