using System.CommandLine;

namespace InstaDeploy.Cli.Commands.Contexts;

/// <summary><c>instadeploy context rm NAME</c>: the context and its stored key.</summary>
public sealed class ContextRemoveCommand : BaseCommand
{
    private readonly Argument<string> _name;

    public ContextRemoveCommand(CommandServices services) : base("rm", "Remove a context and its stored API key", services)
    {
        Aliases.Add("remove");
        _name = ContextArguments.Name(services.Config, "The context to remove");
        Add(_name);
    }

    protected override Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var name = context.Required(_name);
        var config = Services.Config.LoadConfig();
        if (!config.Contexts.Remove(name))
            throw new CliException(ExitCodes.NotFound, $"No context '{name}'; `instadeploy context ls` lists them.");
        if (config.CurrentContext == name) config.CurrentContext = config.Contexts.Keys.FirstOrDefault();
        Services.Config.SaveConfig(config);
        var credentials = Services.Config.LoadCredentials();
        if (credentials.Contexts.Remove(name)) Services.Config.SaveCredentials(credentials);
        context.Output.Note($"Removed context '{name}' and its key{(config.CurrentContext is { } current ? $"; the current context is now '{current}'" : "")}.");
        return Task.FromResult(ExitCodes.Success);
    }
}
