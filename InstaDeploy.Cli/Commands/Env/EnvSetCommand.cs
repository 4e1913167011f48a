using System.CommandLine;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Commands.Projects;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Env;

/// <summary>
/// <c>instadeploy env set PROJECT NAME [VALUE] [--secret] [--agent ID]</c>: PUT /deployments/{p}/env/{name}. A secret's
/// value is read from standard input (or a prompt that does not echo), never from an argument; without VALUE a plain
/// value is read the same way.
/// </summary>
public sealed class EnvSetCommand : BaseCommand
{
    private readonly Argument<string> _project = ProjectArguments.Project();
    private readonly Argument<string> _name = new("name") { Description = "The variable's name (letters, digits, '_')" };
    private readonly Argument<string?> _value = new("value") { Description = "The value (not for --secret; left out, it is read from standard input)", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<bool> _secret = new("--secret") { Description = "A secret: read from standard input, encrypted at rest, masked, redacted from output" };
    private readonly Option<string?> _agent = ProjectArguments.Agent("Set it for this agent only, overriding the project-wide value there");

    public EnvSetCommand(CommandServices services) : base("set", "Set a project variable; secret values come from standard input", services)
    {
        Add(_project);
        Add(_name);
        Add(_value);
        Add(_secret);
        Add(_agent);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var project = context.Required(_project);
        var name = context.Required(_name);
        var secret = context.Value(_secret);
        var value = context.Value(_value);
        if (secret && value is not null)
            throw CliException.Usage($"A secret's value is read from standard input, not an argument (it would stay in the shell history and in ps): `printenv {name} | instadeploy env set {project} {name} --secret`.");
        value ??= await Services.Secrets.ReadAsync($"Value of {name}{(secret ? " (not shown)" : "")}: ", $"value of {name}", cancellationToken);

        var variable = await context.Api.PutAsync($"/deployments/{InstaDeployApiClient.Escape(project)}/env/{InstaDeployApiClient.Escape(name)}",
            new { value, secret, agent_id = context.Value(_agent) }, cancellationToken);
        context.Output.Write(variable, () => context.Output.Note(
            $"Set {name}{(secret ? " (secret)" : "")} for {project}{(context.Value(_agent) is { } agent ? $" on agent {agent}" : "")}; it takes effect at the next deploy."),
            () => [Styles.Text(variable, "name")]);
        return ExitCodes.Success;
    }
}
