using InstaDeploy.Agent.Plugins;

namespace InstaDeploy.TestPlugins.Misbehaving;

/// <summary>THROW throws; HANG ignores cancellation; SLOW waits payload.ms (honouring cancellation) and reports its version.</summary>
public sealed class MisbehavingHandlers : ICommandHandler
{
    public IReadOnlyCollection<string> CommandTypes { get; } = ["THROW", "HANG", "SLOW"];

    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        switch (context.CommandType)
        {
            case "THROW":
                throw new InvalidOperationException("boom from a plugin");
            case "HANG":
                Thread.Sleep(TimeSpan.FromSeconds(30)); // deliberately deaf to cancellation
                return CommandResult.Success("woke up");
            default:
                var ms = context.Payload.TryGetProperty("ms", out var value) ? value.GetInt32() : 1000;
                await Task.Delay(ms, context.CancellationToken);
                return CommandResult.Success("slept");
        }
    }
}
