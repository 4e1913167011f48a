using InstaDeploy.Agent.Plugins;

namespace InstaDeploy.TestPlugins.FutureSdkPlugin;

/// <summary>A plugin built against plugin SDK 2.x: an agent on contract 1 must refuse it.</summary>
public sealed class FutureHandler : ICommandHandler
{
    public IReadOnlyCollection<string> CommandTypes { get; } = ["FUTURE"];

    public Task<CommandResult> HandleAsync(CommandContext context) => Task.FromResult(CommandResult.Success());
}
