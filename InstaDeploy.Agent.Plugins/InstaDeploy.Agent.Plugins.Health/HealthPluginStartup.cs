using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.Agent.Plugins.Health;

/// <summary>Registers the compose command line the health check probes.</summary>
public sealed class HealthPluginStartup : IPluginStartup
{
    /// <inheritdoc />
    public void Configure(IServiceCollection services) => services.AddSingleton<ComposeCli>();
}
