namespace InstaDeploy.Cli.Commands;

/// <summary><c>instadeploy logout [--context NAME]</c>: forgets the stored key; the context stays.</summary>
public sealed class LogoutCommand : BaseCommand
{
    public LogoutCommand(CommandServices services) : base("logout", "Remove the stored API key of a context (the context stays)", services)
    {
    }

    protected override Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var name = context.Value(Services.Globals.Context) ?? Services.Config.LoadConfig().CurrentContext
            ?? throw CliException.Usage("No current context; name one with --context.");
        var credentials = Services.Config.LoadCredentials();
        var removed = credentials.Contexts.Remove(name);
        if (removed) Services.Config.SaveCredentials(credentials);
        context.Output.Note(removed ? $"Removed the API key of context '{name}'." : $"Context '{name}' had no stored API key.");
        return Task.FromResult(ExitCodes.Success);
    }
}
