namespace InstaDeploy.Agent.Plugins;

/// <summary>
/// Runs one or more command types on the agent. A plugin assembly holds one or more public, non-abstract
/// implementations; the agent creates each once per plugin load, with constructor injection from the
/// plugin's services (see <see cref="IPluginStartup"/>).
/// </summary>
public interface ICommandHandler
{
    /// <summary>The command types this handler runs, e.g. <c>DEPLOY_COMPOSE</c>. Upper case by convention.</summary>
    IReadOnlyCollection<string> CommandTypes { get; }

    /// <summary>
    /// Runs one command. Return <see cref="CommandResult.Success"/> or <see cref="CommandResult.Failure"/>;
    /// an exception is turned into a <c>FAILED</c> job carrying its message.
    /// </summary>
    Task<CommandResult> HandleAsync(CommandContext context);
}
