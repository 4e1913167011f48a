using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace InstaDeploy.Bench.Floors;

/// <summary>
/// The floor of the agent's idle memory: a .NET Generic Host with nothing in it (console logging, configuration,
/// the default services, no hosted service), started the way the agent is and with the agent's GC settings, so its
/// RSS is what any Generic Host process costs on this machine before one line of the agent runs.
/// </summary>
internal static class BareHost
{
    public static async Task<int> RunAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        await builder.Build().RunAsync();
        return 0;
    }
}
