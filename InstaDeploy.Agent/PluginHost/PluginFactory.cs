using System.Reflection;
using InstaDeploy.Agent.Plugins;
using InstaDeploy.Contracts;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace InstaDeploy.Agent.PluginHost;

/// <summary>
/// Loads one plugin folder: its assembly in a new collectible load context that shares only the SDK, the wire
/// contract and the logging/DI/configuration abstractions with the agent; its services; its handlers.
/// </summary>
internal sealed class PluginFactory(
    IAgentInfo agentInfo,
    IConfiguration configuration,
    ILoggerFactory loggerFactory,
    TimeProvider time)
{
    /// <summary>Types whose assemblies every plugin shares with the agent, so handlers and contexts cross the boundary.</summary>
    private static readonly Type[] SharedTypes =
    [
        typeof(ICommandHandler), typeof(AgentCommand), typeof(ILogger), typeof(ILoggerFactory),
        typeof(IServiceCollection), typeof(IConfiguration),
    ];

    /// <exception cref="PluginLoadException">The folder is not a loadable plugin; the message says why.</exception>
    public LoadedPlugin Load(string folder, string fingerprint)
    {
        var name = Path.GetFileName(folder);
        var assemblyPath = Path.Combine(folder, name + ".dll");
        if (!File.Exists(assemblyPath))
            throw new PluginLoadException($"{assemblyPath} not found (a plugin folder holds <Name>.dll named after the folder)");

        // In memory: the files are not held open, so a new version can be copied over them while this one runs.
        var loader = PluginLoader.CreateFromAssemblyFile(assemblyPath, SharedTypes, config =>
        {
            config.IsUnloadable = true;
            config.LoadInMemory = true;
        });
        ServiceProvider? provider = null;
        try
        {
            var assembly = loader.LoadDefaultAssembly();
            CheckContractVersion(assembly);

            var types = assembly.GetExportedTypes().Where(t => t is { IsClass: true, IsAbstract: false }).ToList();
            var services = new ServiceCollection();
            services.AddSingleton(loggerFactory);
            services.TryAdd(ServiceDescriptor.Singleton(typeof(ILogger<>), typeof(Logger<>)));
            services.AddSingleton(configuration);
            services.AddSingleton(agentInfo);
            services.AddSingleton(time);
            foreach (var startup in types.Where(typeof(IPluginStartup).IsAssignableFrom))
                ((IPluginStartup)Activator.CreateInstance(startup)!).Configure(services);
            provider = services.BuildServiceProvider();

            var handlers = types.Where(typeof(ICommandHandler).IsAssignableFrom)
                .Select(type => (ICommandHandler)ActivatorUtilities.CreateInstance(provider, type))
                .ToList();
            if (handlers.Count == 0 || handlers.All(h => h.CommandTypes.Count == 0))
                throw new PluginLoadException("it has no public ICommandHandler with a command type");

            var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
                ?? assembly.GetName().Version?.ToString() ?? "0.0.0";
            return new LoadedPlugin(name, version, fingerprint, loader, provider, handlers);
        }
        catch (Exception e) when (e is not PluginLoadException)
        {
            provider?.Dispose();
            loader.Dispose();
            throw new PluginLoadException(e is ReflectionTypeLoadException r
                ? string.Join("; ", r.LoaderExceptions.Select(x => x?.Message).Distinct())
                : $"{e.GetType().Name}: {e.Message}", e);
        }
        catch
        {
            provider?.Dispose();
            loader.Dispose();
            throw;
        }
    }

    /// <summary>A plugin built against another major version of the SDK would misbehave at run time; refuse it now.</summary>
    private static void CheckContractVersion(Assembly plugin)
    {
        var host = typeof(ICommandHandler).Assembly.GetName();
        var reference = plugin.GetReferencedAssemblies().FirstOrDefault(a => a.Name == host.Name)
            ?? throw new PluginLoadException($"it does not reference {host.Name}, so it cannot provide command handlers");
        if (reference.Version?.Major != PluginSdk.ContractVersion)
            throw new PluginLoadException(
                $"it was built against plugin SDK {reference.Version}, but this agent runs plugin contract {PluginSdk.ContractVersion}: rebuild the plugin against InstaDeploy.Agent.Plugins.Sdk {PluginSdk.ContractVersion}.x");
    }
}

/// <summary>A plugin folder that cannot be loaded, with the reason an operator can act on.</summary>
internal sealed class PluginLoadException(string message, Exception? inner = null) : Exception(message, inner);
