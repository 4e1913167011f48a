using InstaDeploy.ControlPlane.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Infrastructure.Storage;

/// <summary>
/// <c>/health</c>'s view of the database: unhealthy, with the reason, while it cannot be written. Each check (at most one
/// every <see cref="CheckEvery"/>, so <c>/health</c> cannot be used to make the control plane write) looks at the free
/// space of the data folder's file system (under INSTADEPLOY_MIN_FREE_DISK_MB), writes one row (a disk that is full,
/// read-only, locked or gone fails it), and at the last failure a request met: one in the last
/// <see cref="RecentFailure"/> keeps it unhealthy, since a write a page long can pass where a deploy's does not. It is
/// healthy again by itself once none of these holds.
/// </summary>
public sealed class StorageHealthCheck(
    IOptions<ControlPlaneOptions> options, StorageHealth health, DatabaseWriteGate writes, Data.Database database, TimeProvider time) : IHealthCheck
{
    public static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan RecentFailure = TimeSpan.FromSeconds(15);

    /// <summary>How long the probe waits for the write lock before it calls the database locked.</summary>
    private const int ProbeBusySeconds = 5;

    private static readonly Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTimeOffset, long> StoredTime =
        new Microsoft.EntityFrameworkCore.Storage.ValueConversion.DateTimeOffsetToBinaryConverter();

    private readonly SemaphoreSlim _one = new(1, 1);
    private (DateTimeOffset At, HealthCheckResult Result)? _cached;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await _one.WaitAsync(cancellationToken);
        try
        {
            // A failure met since the last check makes the next check look again at once.
            if (_cached is { } cached && time.GetUtcNow() - cached.At < CheckEvery && !(health.Last?.At >= cached.At)) return cached.Result;
            var result = await EvaluateAsync(cancellationToken);
            _cached = (time.GetUtcNow(), result);
            return result;
        }
        finally
        {
            _one.Release();
        }
    }

    private async Task<HealthCheckResult> EvaluateAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var data = new Dictionary<string, object>();
        var folder = Path.GetDirectoryName(settings.DatabasePath)!;
        long? free = null;
        try
        {
            free = new DriveInfo(folder).AvailableFreeSpace;
            data["free_bytes"] = free.Value;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // not knowable here (the folder is gone, say): the probe says what is wrong
        }

        var probe = await ProbeAsync(settings.DatabasePath, cancellationToken);
        if (probe is not null)
        {
            health.Record("health probe", probe);
            return HealthCheckResult.Unhealthy($"{probe.Title}. {probe.Detail}", data: With(data, probe.Kind));
        }
        var minimum = (long)settings.MinFreeDiskMegabytes * 1024 * 1024;
        if (free is { } bytes && bytes < minimum)
            return HealthCheckResult.Unhealthy(
                $"The file system of INSTADEPLOY_DATA_DIR has {bytes / 1024 / 1024} MiB free, less than INSTADEPLOY_MIN_FREE_DISK_MB ({settings.MinFreeDiskMegabytes} MiB): the database's writes fail soon, or already do. Free space on it.",
                data: With(data, StorageFailure.DiskFull.Kind));
        if (health.Last is { } last && time.GetUtcNow() - last.At < RecentFailure)
        {
            data["last_failure_at"] = last.At;
            data["last_failure_where"] = last.Where;
            return HealthCheckResult.Unhealthy(
                $"{last.Failure.Title} ({last.Where}, {(time.GetUtcNow() - last.At).TotalSeconds:0} s ago). {last.Failure.Detail}", data: With(data, last.Failure.Kind));
        }
        if (health.Last is { } earlier)
        {
            data["last_failure_at"] = earlier.At;
            data["last_failure"] = earlier.Failure.Kind;
        }
        return HealthCheckResult.Healthy("The database can be written.", data);
    }

    private static Dictionary<string, object> With(Dictionary<string, object> data, string kind)
    {
        data["storage_failure"] = kind;
        return data;
    }

    /// <summary>Writes the probe row; null when that worked, else why not.</summary>
    private async Task<StorageFailure?> ProbeAsync(string databasePath, CancellationToken cancellationToken)
    {
        using var gateTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        gateTimeout.CancelAfter(TimeSpan.FromSeconds(ProbeBusySeconds));
        DatabaseWriteGate.Releaser write;
        try
        {
            write = await writes.EnterAsync(gateTimeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null; // this process's own writers hold the gate: they, not the probe, meet any failure now
        }
        using (write)
        {
            try
            {
                if (database.IsPostgres)
                {
                    // A database server: the probe is a write on a pooled connection (an unreachable server fails it).
                    await using var pooled = await database.OpenAsync(cancellationToken);
                    await using var upsert = Data.DbCommands.Sql(pooled, """INSERT INTO "StorageProbe" ("Id", "At") VALUES (1, @at) ON CONFLICT ("Id") DO UPDATE SET "At" = EXCLUDED."At" """);
                    Data.DbCommands.Add(upsert, "@at", StoredTime.ConvertToProvider(time.GetUtcNow()));
                    await upsert.ExecuteNonQueryAsync(cancellationToken);
                    return null;
                }
                await using var connection = new SqliteConnection($"Data Source={databasePath};Mode=ReadWrite;Pooling=False;Default Timeout={ProbeBusySeconds}");
                await connection.OpenAsync(cancellationToken);
                await using var command = connection.CreateCommand();
                command.CommandText = """INSERT OR REPLACE INTO "StorageProbe" ("Id", "At") VALUES (1, $at)""";
                command.Parameters.AddWithValue("$at", StoredTime.ConvertToProvider(time.GetUtcNow())!);
                await command.ExecuteNonQueryAsync(cancellationToken);
                return null;
            }
            catch (Exception e) when (StorageFailure.Classify(e) is { } failure)
            {
                return StorageFailure.Refine(failure, Path.GetDirectoryName(databasePath)!);
            }
        }
    }
}
