using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.Agent.Plugins;

/// <summary>
/// Optional entry point of a plugin: a public, parameterless class implementing it registers the plugin's own
/// services, which its handlers then receive by constructor injection. The agent already provides
/// <c>ILoggerFactory</c>/<c>ILogger&lt;T&gt;</c>, <c>IConfiguration</c>, <see cref="IAgentInfo"/> and <see cref="TimeProvider"/>.
/// </summary>
public interface IPluginStartup
{
    /// <summary>Adds the plugin's services.</summary>
    void Configure(IServiceCollection services);
}
