using InstaDeploy.Agent.PluginHost;
using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.Agent.Tests.PluginHost;

public sealed class PluginCatalogTests
{
    [Fact]
    public async Task TheBuiltInPluginsProvideTheSeedsFourCommandTypesLogsAndRegistryLogin()
    {
        await using var agent = await TestAgent.StartAsync(new Uri("ws://127.0.0.1:9/ws"), "token-123", "plugin-test");
        var catalog = agent.Services.GetRequiredService<PluginCatalog>();
        Assert.Equal(["DEPLOY_COMPOSE", "HEALTH_CHECK", "LOGS", "REGISTRY_LOGIN", "STATUS", "STOP_COMPOSE"], catalog.CommandTypes);
        Assert.True(catalog.TryAcquire("DEPLOY_COMPOSE", out var lease));
        using (lease) Assert.Equal("InstaDeploy.Agent.Plugins.Compose", lease.PluginName);
        Assert.Contains(catalog.Plugins, p => p.Name == "InstaDeploy.Agent.Plugins.Health" && p.CommandTypes.SequenceEqual(["HEALTH_CHECK"]));
    }

    [Fact]
    public async Task EachPluginLivesInItsOwnCollectibleLoadContextSharingOnlyTheSdk()
    {
        await using var agent = await TestAgent.StartAsync(new Uri("ws://127.0.0.1:9/ws"), "token-123", "plugin-test");
        var catalog = agent.Services.GetRequiredService<PluginCatalog>();
        Assert.True(catalog.TryAcquire("DEPLOY_COMPOSE", out var compose));
        Assert.True(catalog.TryAcquire("HEALTH_CHECK", out var health));
        using (compose)
        using (health)
        {
            var composeContext = System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(compose.Handler.GetType().Assembly)!;
            var healthContext = System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(health.Handler.GetType().Assembly)!;
            Assert.NotSame(System.Runtime.Loader.AssemblyLoadContext.Default, composeContext);
            Assert.NotSame(composeContext, healthContext);
            Assert.True(composeContext.IsCollectible);
            // The SDK type the handler implements is the agent's own, so the agent can call it.
            Assert.Same(typeof(InstaDeploy.Agent.Plugins.ICommandHandler).Assembly,
                compose.Handler.GetType().GetInterfaces().Single(i => i.Name == "ICommandHandler").Assembly);
        }
    }
}
