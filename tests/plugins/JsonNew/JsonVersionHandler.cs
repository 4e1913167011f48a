using Newtonsoft.Json;

namespace InstaDeploy.TestPlugins.JsonNew;

/// <summary>Reports which Newtonsoft.Json this plugin got, and uses it, to show plugins' dependencies do not clash.</summary>
public sealed class JsonVersionHandler : InstaDeploy.Agent.Plugins.ICommandHandler
{
    public IReadOnlyCollection<string> CommandTypes { get; } = ["JSON_NEW"];

    public async Task<InstaDeploy.Agent.Plugins.CommandResult> HandleAsync(InstaDeploy.Agent.Plugins.CommandContext context)
    {
        await context.WriteOutputLineAsync(JsonConvert.SerializeObject(new { newtonsoft = typeof(JsonConvert).Assembly.GetName().Version!.ToString() }));
        return InstaDeploy.Agent.Plugins.CommandResult.Success();
    }
}
