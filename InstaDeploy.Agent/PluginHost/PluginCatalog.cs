using InstaDeploy.Agent.Plugins;

namespace InstaDeploy.Agent.PluginHost;

/// <summary>
/// The plugins loaded now and which handler runs each command type. The mapping is rebuilt from all plugins in
/// ordinal order of their folder names after every change, so when two plugins claim one command type the first
/// keeps it, the same way whether they were loaded at start or dropped in later, and the other's claim is logged.
/// </summary>
internal sealed class PluginCatalog(AgentInfo agentInfo, ILogger<PluginCatalog> logger) : IDisposable
{
    private readonly object _gate = new();
    private readonly SortedDictionary<string, LoadedPlugin> _plugins = new(StringComparer.Ordinal);
    private volatile Snapshot _current = Snapshot.Empty;

    /// <summary>Raised after the set of plugins or command types changed.</summary>
    public event Action? Changed;

    public IReadOnlyCollection<string> CommandTypes => _current.CommandTypes;

    public IReadOnlyList<PluginDescription> Plugins => _current.Descriptions;

    public LoadedPlugin? Find(string name)
    {
        lock (_gate) return _plugins.GetValueOrDefault(name);
    }

    public IReadOnlyCollection<string> Names
    {
        get { lock (_gate) return [.. _plugins.Keys]; }
    }

    /// <summary>Finds the handler for a command type and leases its plugin for the job's duration.</summary>
    public bool TryAcquire(string commandType, out HandlerLease lease)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (!_current.Handlers.TryGetValue(commandType, out var entry)) break;
            if (entry.Plugin.TryLease())
            {
                lease = new HandlerLease(entry.Handler, entry.Plugin);
                return true;
            }
            // Retired between the lookup and the lease: a newer snapshot has the replacement.
        }
        lease = null!;
        return false;
    }

    /// <summary>Adds a plugin, or replaces the one with its name (which finishes its running jobs, then unloads).</summary>
    public void Set(LoadedPlugin plugin)
    {
        LoadedPlugin? old;
        lock (_gate)
        {
            _plugins.TryGetValue(plugin.Name, out old);
            _plugins[plugin.Name] = plugin;
            Rebuild();
        }
        old?.Retire();
        Changed?.Invoke();
    }

    /// <summary>Removes a plugin: it takes no new jobs and unloads once its running jobs end.</summary>
    public void Remove(string name)
    {
        LoadedPlugin? old;
        lock (_gate)
        {
            if (!_plugins.Remove(name, out old)) return;
            Rebuild();
        }
        old.Retire();
        Changed?.Invoke();
    }

    private void Rebuild()
    {
        var handlers = new Dictionary<string, (ICommandHandler Handler, LoadedPlugin Plugin)>(StringComparer.Ordinal);
        var descriptions = new List<PluginDescription>();
        foreach (var plugin in _plugins.Values)
        {
            var claimed = new List<string>();
            foreach (var handler in plugin.Handlers)
                foreach (var type in handler.CommandTypes)
                {
                    if (handlers.TryGetValue(type, out var owner))
                    {
                        if (owner.Plugin != plugin)
                            logger.PluginConflict(plugin.Name, type, owner.Plugin.Name);
                        continue;
                    }
                    handlers[type] = (handler, plugin);
                    claimed.Add(type);
                }
            claimed.Sort(StringComparer.Ordinal);
            descriptions.Add(new PluginDescription(plugin.Name, plugin.Version, claimed));
        }
        _current = new Snapshot(handlers, [.. handlers.Keys.Order(StringComparer.Ordinal)], descriptions);
        agentInfo.LoadedPlugins = descriptions;
    }

    public void Dispose()
    {
        List<LoadedPlugin> all;
        lock (_gate)
        {
            all = [.. _plugins.Values];
            _plugins.Clear();
            _current = Snapshot.Empty;
        }
        foreach (var plugin in all) plugin.Retire();
    }

    private sealed record Snapshot(
        IReadOnlyDictionary<string, (ICommandHandler Handler, LoadedPlugin Plugin)> Handlers,
        IReadOnlyCollection<string> CommandTypes,
        IReadOnlyList<PluginDescription> Descriptions)
    {
        public static readonly Snapshot Empty = new(new Dictionary<string, (ICommandHandler, LoadedPlugin)>(), [], []);
    }
}

/// <summary>A handler leased for one job; disposing it lets a retired plugin unload.</summary>
internal sealed class HandlerLease(ICommandHandler handler, LoadedPlugin plugin) : IDisposable
{
    private int _released;

    public ICommandHandler Handler { get; } = handler;

    public string PluginName => plugin.Name;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) plugin.ReleaseLease();
    }
}
