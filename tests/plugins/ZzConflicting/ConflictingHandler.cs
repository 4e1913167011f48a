using InstaDeploy.Agent.Plugins;

namespace InstaDeploy.TestPlugins.ZzConflicting;

/// <summary>Claims STATUS, which the built-in Compose plugin already provides, and one type of its own.</summary>
public sealed class ConflictingHandler : ICommandHandler
{
    public IReadOnlyCollection<string> CommandTypes { get; } = ["STATUS", "CONFLICT_OWN"];

    public Task<CommandResult> HandleAsync(CommandContext context) => Task.FromResult(CommandResult.Success($"ZzConflicting ran {context.CommandType}"));
}
