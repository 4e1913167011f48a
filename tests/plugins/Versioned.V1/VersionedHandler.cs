using System.Reflection;
using InstaDeploy.Agent.Plugins;

namespace InstaDeploy.TestPlugins.Versioned;

/// <summary>VERSIONED: waits payload.ms (default 0), then reports the plugin's version, e.g. "Versioned 2.0.0".</summary>
public sealed class VersionedHandler : ICommandHandler
{
    public IReadOnlyCollection<string> CommandTypes { get; } = ["VERSIONED"];

    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        if (context.Payload.ValueKind == System.Text.Json.JsonValueKind.Object && context.Payload.TryGetProperty("ms", out var ms))
            await Task.Delay(ms.GetInt32(), context.CancellationToken);
        var version = typeof(VersionedHandler).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        return CommandResult.Success($"Versioned {version}");
    }
}
