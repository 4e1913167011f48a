using System.Reflection;
using InstaDeploy.Agent.Plugins;
using InstaDeploy.Contracts;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace InstaDeploy.Agent.PluginHost;

/// <summary>
/// Loads every plugin in the plugins folder (<c>plugins/&lt;Name&gt;/&lt;Name&gt;.dll</c>), each in its own load context
/// that shares only the SDK, the wire contract and the logging/DI/configuration abstractions with the agent, and
/// maps each command type to the handler that runs it. Plugins load in ordinal order of their folder names, so when
/// two claim one command type the outcome is always the same: the first keeps it and the other's claim is refused.
/// </summary>
internal sealed class PluginCatalog(
    AgentOptions options,
    AgentInfo agentInfo,
    IConfiguration configuration,
    ILoggerFactory loggerFactory,
    TimeProvider time,
    ILogger<PluginCatalog> logger) : IDisposable
{
    /// <summary>Types whose assemblies every plugin shares with the agent, so handlers and contexts cross the boundary.</summary>
    private static readonly Type[] SharedTypes =
    [
        typeof(ICommandHandler), typeof(AgentCommand), typeof(ILogger), typeof(ILoggerFactory),
        typeof(IServiceCollection), typeof(IConfiguration),
    ];

    private readonly List<LoadedPlugin> _plugins = [];
    private readonly Dictionary<string, (ICommandHandler Handler, string Plugin)> _handlers = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> CommandTypes => [.. _handlers.Keys.Order(StringComparer.Ordinal)];

    public IReadOnlyList<PluginDescription> Plugins => [.. _plugins.Select(p => p.Description)];

    public bool TryGetHandler(string commandType, out ICommandHandler handler, out string plugin)
    {
        var found = _handlers.TryGetValue(commandType, out var entry);
        (handler, plugin) = found ? entry : (null!, "");
        return found;
    }

    public void LoadAll()
    {
        if (!Directory.Exists(options.PluginsDirectory))
        {
            logger.NoPlugins(options.PluginsDirectory);
            return;
        }
        foreach (var folder in Directory.GetDirectories(options.PluginsDirectory).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(folder);
            var assemblyPath = Path.Combine(folder, name + ".dll");
            if (!File.Exists(assemblyPath))
            {
                logger.PluginRefused(name, $"{assemblyPath} not found (a plugin folder holds <Name>.dll named after the folder)");
                continue;
            }
            try
            {
                Load(name, assemblyPath);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.PluginRefused(name, e is ReflectionTypeLoadException r
                    ? string.Join("; ", r.LoaderExceptions.Select(x => x?.Message).Distinct())
                    : e.Message);
            }
        }
        if (_plugins.Count == 0) logger.NoPlugins(options.PluginsDirectory);
        agentInfo.LoadedPlugins = Plugins;
    }

    private void Load(string name, string assemblyPath)
    {
        var loader = PluginLoader.CreateFromAssemblyFile(assemblyPath, isUnloadable: true, sharedTypes: SharedTypes);
        try
        {
            var assembly = loader.LoadDefaultAssembly();
            CheckContractVersion(assembly);

            var types = assembly.GetExportedTypes().Where(t => t is { IsClass: true, IsAbstract: false }).ToList();
            var services = new ServiceCollection();
            services.AddSingleton(loggerFactory);
            services.TryAdd(ServiceDescriptor.Singleton(typeof(ILogger<>), typeof(Logger<>)));
            services.AddSingleton(configuration);
            services.AddSingleton<IAgentInfo>(agentInfo);
            services.AddSingleton(time);
            foreach (var startup in types.Where(typeof(IPluginStartup).IsAssignableFrom))
                ((IPluginStartup)Activator.CreateInstance(startup)!).Configure(services);
            var provider = services.BuildServiceProvider();

            var claimed = new List<string>();
            foreach (var type in types.Where(typeof(ICommandHandler).IsAssignableFrom))
            {
                var handler = (ICommandHandler)ActivatorUtilities.CreateInstance(provider, type);
                foreach (var commandType in handler.CommandTypes)
                {
                    if (_handlers.TryGetValue(commandType, out var owner))
                    {
                        logger.PluginRefused(name, $"command type {commandType} is already provided by plugin {owner.Plugin} (plugins load in folder-name order; remove one of them)");
                        continue;
                    }
                    _handlers[commandType] = (handler, name);
                    claimed.Add(commandType);
                }
            }
            if (claimed.Count == 0)
            {
                provider.Dispose();
                throw new InvalidOperationException("it provides no command type (no public ICommandHandler, or all its types are taken)");
            }

            var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
                ?? assembly.GetName().Version?.ToString() ?? "0.0.0";
            _plugins.Add(new LoadedPlugin(new PluginDescription(name, version, claimed), loader, provider));
            logger.PluginLoaded(name, version, string.Join(", ", claimed));
        }
        catch
        {
            loader.Dispose();
            throw;
        }
    }

    /// <summary>A plugin built against another major version of the SDK would misbehave at run time; refuse it now.</summary>
    private static void CheckContractVersion(Assembly plugin)
    {
        var host = typeof(ICommandHandler).Assembly.GetName();
        var reference = plugin.GetReferencedAssemblies().FirstOrDefault(a => a.Name == host.Name)
            ?? throw new InvalidOperationException($"it does not reference {host.Name}, so it cannot provide command handlers");
        if (reference.Version?.Major != host.Version?.Major)
            throw new InvalidOperationException(
                $"it was built against plugin SDK {reference.Version}, but this agent runs SDK {host.Version}: rebuild the plugin against SDK {host.Version?.Major}.x");
    }

    public void Dispose()
    {
        foreach (var plugin in _plugins)
        {
            plugin.Services.Dispose();
            plugin.Loader.Dispose();
        }
        _plugins.Clear();
        _handlers.Clear();
    }

    private sealed record LoadedPlugin(PluginDescription Description, PluginLoader Loader, ServiceProvider Services);
}
