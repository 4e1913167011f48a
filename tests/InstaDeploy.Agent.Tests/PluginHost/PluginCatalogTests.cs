using InstaDeploy.Agent.PluginHost;
using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.Agent.Tests.PluginHost;

public sealed class PluginCatalogTests
{
    [Fact]
    public async Task TheBuiltInPluginsProvideTheSeedsFourCommandTypes()
    {
        await using var agent = await TestAgent.StartAsync(new Uri("ws://127.0.0.1:9/ws"), "token-123", "plugin-test");
        var catalog = agent.Services.GetRequiredService<PluginCatalog>();
        Assert.Equal(["DEPLOY_COMPOSE", "HEALTH_CHECK", "STATUS", "STOP_COMPOSE"], catalog.CommandTypes);
        Assert.True(catalog.TryGetHandler("DEPLOY_COMPOSE", out _, out var plugin));
        Assert.Equal("InstaDeploy.Agent.Plugins.Compose", plugin);
        Assert.Contains(catalog.Plugins, p => p.Name == "InstaDeploy.Agent.Plugins.Health" && p.CommandTypes.SequenceEqual(["HEALTH_CHECK"]));
    }

    [Fact]
    public async Task EachPluginLivesInItsOwnLoadContextSharingOnlyTheSdk()
    {
        await using var agent = await TestAgent.StartAsync(new Uri("ws://127.0.0.1:9/ws"), "token-123", "plugin-test");
        var catalog = agent.Services.GetRequiredService<PluginCatalog>();
        catalog.TryGetHandler("DEPLOY_COMPOSE", out var compose, out _);
        catalog.TryGetHandler("HEALTH_CHECK", out var health, out _);

        var composeContext = System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(compose.GetType().Assembly)!;
        var healthContext = System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(health.GetType().Assembly)!;
        Assert.NotSame(System.Runtime.Loader.AssemblyLoadContext.Default, composeContext);
        Assert.NotSame(composeContext, healthContext);
        Assert.True(composeContext.IsCollectible);
        // The SDK type the handler implements is the agent's own, so the agent can call it.
        Assert.IsAssignableFrom<InstaDeploy.Agent.Plugins.ICommandHandler>(compose);
    }

    [Fact]
    public async Task AFolderThatIsNotAPluginIsSkippedAndTheOthersStillLoad()
    {
        var plugins = Directory.CreateTempSubdirectory("instadeploy-plugins-").FullName;
        try
        {
            CopyDirectory(Path.Combine(AppContext.BaseDirectory, "plugins", "InstaDeploy.Agent.Plugins.Health"), Path.Combine(plugins, "InstaDeploy.Agent.Plugins.Health"));
            Directory.CreateDirectory(Path.Combine(plugins, "Empty"));
            Directory.CreateDirectory(Path.Combine(plugins, "Garbage"));
            await File.WriteAllTextAsync(Path.Combine(plugins, "Garbage", "Garbage.dll"), "this is not an assembly");

            await using var agent = await TestAgent.StartAsync(new Uri("ws://127.0.0.1:9/ws"), "token-123", "plugin-test",
                new Dictionary<string, string?> { ["AGENT_PLUGINS_DIR"] = plugins });
            var catalog = agent.Services.GetRequiredService<PluginCatalog>();
            Assert.Equal(["HEALTH_CHECK"], catalog.CommandTypes);
        }
        finally
        {
            try { Directory.Delete(plugins, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
