using InstaDeploy.Agent.Plugins;

namespace InstaDeploy.TestPlugins.Misbehaving;

/// <summary>THROW throws; HANG ignores cancellation; SLOW waits payload.ms (honouring cancellation) and reports its
/// version; CHATTY prints payload.lines lines of payload.width characters as fast as it can.</summary>
public sealed class MisbehavingHandlers : ICommandHandler
{
    public IReadOnlyCollection<string> CommandTypes { get; } = ["THROW", "HANG", "SLOW", "CHATTY"];

    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        switch (context.CommandType)
        {
            case "THROW":
                throw new InvalidOperationException("boom from a plugin");
            case "CHATTY":
                var lines = context.Payload.GetProperty("lines").GetInt32();
                var width = context.Payload.GetProperty("width").GetInt32();
                for (var i = 1; i <= lines; i++)
                    await context.WriteOutputLineAsync($"{i:D6} " + new string('x', width));
                return CommandResult.Success("done");
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
