using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>Registers what the compose handlers share: the compose command line and the project folders.</summary>
public sealed class ComposePluginStartup : IPluginStartup
{
    /// <inheritdoc />
    public void Configure(IServiceCollection services)
    {
        services.AddSingleton<ComposeCli>();
        services.AddSingleton<ProjectFolders>();
        services.AddSingleton<ProjectContainers>();
        services.AddSingleton<ProjectHistory>();
        services.AddSingleton<HealthGate>();
        services.AddSingleton<DeployPolicyGate>();
    }
}
