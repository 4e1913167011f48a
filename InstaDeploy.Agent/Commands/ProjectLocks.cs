namespace InstaDeploy.Agent.Commands;

/// <summary>
/// One lock per project, so jobs for the same project run one after another (in arrival order) while jobs for
/// different projects run in parallel. A project's lock is dropped when no job holds or waits for it.
/// </summary>
internal sealed class ProjectLocks
{
    private readonly Dictionary<string, Entry> _locks = new(StringComparer.Ordinal);

    public async Task<IDisposable> AcquireAsync(string project, CancellationToken cancellationToken)
    {
        Entry entry;
        lock (_locks)
        {
            if (!_locks.TryGetValue(project, out entry!))
                _locks[project] = entry = new Entry();
            entry.Users++;
        }
        try
        {
            await entry.Semaphore.WaitAsync(cancellationToken);
        }
        catch
        {
            Release(project, entry, held: false);
            throw;
        }
        return new Releaser(() => Release(project, entry, held: true));
    }

    public int Count
    {
        get { lock (_locks) return _locks.Count; }
    }

    private void Release(string project, Entry entry, bool held)
    {
        if (held) entry.Semaphore.Release();
        lock (_locks)
        {
            if (--entry.Users == 0) _locks.Remove(project);
        }
    }

    private sealed class Entry
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);
        public int Users { get; set; }
    }

    private sealed class Releaser(Action release) : IDisposable
    {
        private Action? _release = release;

        public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
    }
}
