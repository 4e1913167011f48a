using System.CommandLine;

namespace InstaDeploy.Cli.Commands.Contexts;

/// <summary><c>instadeploy context use NAME</c>.</summary>
public sealed class ContextUseCommand : BaseCommand
{
    private readonly Argument<string> _name;

    public ContextUseCommand(CommandServices services) : base("use", "Make a context the current one", services)
    {
        _name = ContextArguments.Name(services.Config, "The context to use from now on");
        Add(_name);
    }

    protected override Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var name = context.Required(_name);
        var config = Services.Config.LoadConfig();
        if (!config.Contexts.TryGetValue(name, out var chosen))
            throw new CliException(ExitCodes.NotFound, $"No context '{name}'; `instadeploy context ls` lists them, `instadeploy context add` adds one.");
        config.CurrentContext = name;
        Services.Config.SaveConfig(config);
        context.Output.Note($"Now using context '{name}' ({chosen.Url}).");
        return Task.FromResult(ExitCodes.Success);
    }
}
