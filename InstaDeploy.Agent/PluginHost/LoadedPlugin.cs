using InstaDeploy.Agent.Plugins;
using McMaster.NETCore.Plugins;

namespace InstaDeploy.Agent.PluginHost;

/// <summary>
/// One plugin folder loaded into its own collectible load context, with its services and handlers. Jobs hold a
/// lease while they run; once the plugin is retired (replaced or removed) it is unloaded when the last lease ends,
/// so running jobs finish on the version they started with.
/// </summary>
internal sealed class LoadedPlugin(
    string name,
    string version,
    string fingerprint,
    PluginLoader loader,
    IDisposable services,
    IReadOnlyList<ICommandHandler> handlers)
{
    private readonly object _gate = new();
    private int _leases;
    private bool _retired;
    private bool _disposed;

    public string Name { get; } = name;
    public string Version { get; } = version;

    /// <summary>The files' names, sizes and times when loaded; a different fingerprint means the folder changed.</summary>
    public string Fingerprint { get; } = fingerprint;

    public IReadOnlyList<ICommandHandler> Handlers { get; private set; } = handlers;

    /// <summary>The load context, for tests that check it is really freed after unloading.</summary>
    public System.Runtime.Loader.AssemblyLoadContext LoadContext => loader.LoadDefaultAssembly() is { } assembly
        ? System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(assembly)!
        : throw new InvalidOperationException("not loaded");

    /// <summary>Takes a lease for a job; false once the plugin has been retired.</summary>
    public bool TryLease()
    {
        lock (_gate)
        {
            if (_retired) return false;
            _leases++;
            return true;
        }
    }

    public void ReleaseLease()
    {
        lock (_gate)
        {
            _leases--;
            if (!_retired || _leases > 0) return;
        }
        Unload();
    }

    /// <summary>No new jobs; unloads now, or when the last running job ends.</summary>
    public void Retire()
    {
        lock (_gate)
        {
            _retired = true;
            if (_leases > 0) return;
        }
        Unload();
    }

    private void Unload()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        Handlers = [];
        services.Dispose();
        loader.Dispose();
    }
}
