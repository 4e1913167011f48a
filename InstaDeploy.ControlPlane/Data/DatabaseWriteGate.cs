namespace InstaDeploy.ControlPlane.Data;

/// <summary>
/// Lets one database write run at a time in this process. SQLite admits one writer; a second connection that finds
/// the write lock taken does not queue for it but gets SQLITE_BUSY, which Microsoft.Data.Sqlite answers by sleeping and
/// retrying. Under load (many agents answering at once, a reconnect storm) writers then spend most of their time
/// asleep while the database is idle. Waiting here instead hands the lock over the moment it is free. Reads never
/// wait: WAL lets them run beside the writer.
/// </summary>
/// <remarks>On PostgreSQL, which takes concurrent writers, the gate lets everyone through.</remarks>
public sealed class DatabaseWriteGate(bool serialize = true)
{
    private readonly SemaphoreSlim? _gate = serialize ? new(1, 1) : null;

    public async ValueTask<Releaser> EnterAsync(CancellationToken cancellationToken)
    {
        if (_gate is not null) await _gate.WaitAsync(cancellationToken);
        return new Releaser(_gate);
    }

    public readonly struct Releaser(SemaphoreSlim? gate) : IDisposable
    {
        public void Dispose() => gate?.Release();
    }
}
