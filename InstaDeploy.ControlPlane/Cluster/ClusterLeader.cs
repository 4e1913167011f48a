using System.Data.Common;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Npgsql;

namespace InstaDeploy.ControlPlane.Cluster;

/// <summary>
/// Work that must run on one instance at a time (the presence sweep) runs on the instance that holds a PostgreSQL
/// session advisory lock. The lock lives as long as that instance's connection: when the instance dies, the server ends
/// the session and another instance takes the lock on its next try. On SQLite the one instance always leads.
/// </summary>
public sealed class ClusterLeader(Database database, ILogger<ClusterLeader> logger) : IAsyncDisposable
{
    /// <summary>The advisory lock's key: any 64-bit number no other application on the database uses ("IDPL").</summary>
    public const long LockKey = 0x4944504C_00000001;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private DbConnection? _connection;

    /// <summary>Whether this instance leads now, taking the lead if nobody holds it.</summary>
    public async Task<bool> TryLeadAsync(CancellationToken cancellationToken)
    {
        if (!database.IsPostgres) return true;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_connection is not null)
            {
                // Still ours if the session is alive; a dropped session dropped the lock with it.
                try
                {
                    await using var ping = _connection.Sql("SELECT 1");
                    await ping.ExecuteScalarAsync(cancellationToken);
                    return true;
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
                {
                    await _connection.DisposeAsync();
                    _connection = null;
                }
            }
            var connection = database.OpenDedicated(synchronousNormal: false);
            await using (var command = connection.Sql("SELECT pg_try_advisory_lock(@key)"))
            {
                command.Add("@key", LockKey);
                if (await command.ExecuteScalarAsync(cancellationToken) is true)
                {
                    _connection = connection;
                    logger.ClusterLeading();
                    return true;
                }
            }
            await connection.DisposeAsync();
            return false;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            logger.BackgroundTickFailed(e, nameof(ClusterLeader));
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync();
    }
}
