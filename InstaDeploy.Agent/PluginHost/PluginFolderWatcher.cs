using System.Text;

namespace InstaDeploy.Agent.PluginHost;

/// <summary>
/// Keeps the catalog in step with the plugins folders while the agent runs (the built-in one, then the one plugins from
/// the control plane are installed into, whose folder wins for a name in both): a new folder is loaded, a changed one
/// is reloaded, a deleted one unloaded. A folder is (re)loaded only once its files have stopped changing for a moment,
/// so a half-copied plugin is never loaded; a folder that fails to load is reported once and tried again when its
/// files change.
/// </summary>
internal sealed class PluginFolderWatcher(
    AgentOptions options,
    PluginCatalog catalog,
    PluginFactory factory,
    TimeProvider time,
    ILogger<PluginFolderWatcher> logger) : BackgroundService
{
    private readonly Dictionary<string, (string Fingerprint, DateTimeOffset Since)> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _failed = new(StringComparer.Ordinal);

    /// <summary>How often the folder is scanned.</summary>
    public static TimeSpan ScanInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a folder's files must stay unchanged before it is loaded.</summary>
    public static TimeSpan SettleTime { get; } = TimeSpan.FromSeconds(1);

    /// <summary>Loads what is there before anything else starts, so the agent connects with its plugins in place.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Scan(settle: false);
        if (catalog.Names.Count == 0) logger.NoPlugins(options.PluginsDirectory);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ScanInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    Scan(settle: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    logger.PluginScanFailed(options.PluginsDirectory, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Scan(bool settle)
    {
        var folders = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var root in new[] { options.PluginsDirectory, options.InstalledPluginsDirectory }.Distinct(StringComparer.Ordinal))
        {
            if (!Directory.Exists(root)) continue;
            foreach (var folder in Directory.GetDirectories(root))
                folders[Path.GetFileName(folder)] = folder; // the installed one, scanned last, wins
        }

        foreach (var gone in catalog.Names.Where(name => !folders.ContainsKey(name)))
        {
            catalog.Remove(gone);
            logger.PluginUnloaded(gone);
        }
        foreach (var name in _pending.Keys.Concat(_failed.Keys).Where(n => !folders.ContainsKey(n)).ToList())
        {
            _pending.Remove(name);
            _failed.Remove(name);
        }

        var now = time.GetUtcNow();
        foreach (var (name, folder) in folders.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            string fingerprint;
            try
            {
                fingerprint = Fingerprint(folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // being written or removed right now; look again next time
            }
            if (catalog.Find(name)?.Fingerprint == fingerprint || _failed.GetValueOrDefault(name) == fingerprint)
            {
                _pending.Remove(name);
                continue;
            }
            if (settle)
            {
                if (!_pending.TryGetValue(name, out var seen) || seen.Fingerprint != fingerprint)
                {
                    _pending[name] = (fingerprint, now);
                    continue;
                }
                if (now - seen.Since < SettleTime) continue;
            }
            _pending.Remove(name);
            Load(name, folder, fingerprint);
        }
    }

    private void Load(string name, string folder, string fingerprint)
    {
        var replacing = catalog.Find(name) is not null;
        try
        {
            var plugin = factory.Load(folder, fingerprint);
            catalog.Set(plugin);
            _failed.Remove(name);
            var types = catalog.Plugins.FirstOrDefault(p => p.Name == name)?.CommandTypes ?? [];
            if (replacing) logger.PluginReloaded(name, plugin.Version, string.Join(", ", types));
            else logger.PluginLoaded(name, plugin.Version, string.Join(", ", types));
        }
        catch (PluginLoadException e)
        {
            _failed[name] = fingerprint;
            logger.PluginRefused(name, e.Message);
        }
    }

    /// <summary>Names, sizes and write times of every file in the folder: equal fingerprints mean nothing changed.</summary>
    private static string Fingerprint(string folder)
    {
        // The folder too: the same files installed over a built-in plugin are another plugin (and load from there).
        var text = new StringBuilder(folder).Append('\n');
        foreach (var file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(file);
            text.Append(Path.GetRelativePath(folder, file)).Append('|').Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks).Append('\n');
        }
        return text.ToString();
    }
}
