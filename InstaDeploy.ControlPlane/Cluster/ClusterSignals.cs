using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Npgsql;

namespace InstaDeploy.ControlPlane.Cluster;

/// <summary>
/// Wakes the instance that holds an agent's connection when another instance stored a job for it: the job row is the
/// truth; a PostgreSQL NOTIFY on <see cref="JobsChannel"/> (payload: <see cref="JobWaitingPayload"/>, sent in the job's
/// own transaction) only says "look now", so a lost notification costs the delivery retry's few seconds, never the
/// job. On SQLite (one instance) there is nobody to wake.
/// </summary>
public sealed class ClusterSignals(Database database, ILogger<ClusterSignals> logger) : BackgroundService
{
    public const string JobsChannel = "instadeploy_jobs";

    /// <summary>Wake-ups about things followed on every instance (<see cref="ClusterEvents"/>): output stored, a job
    /// ended, a rollout changed. Each payload starts with the sender's instance id; the rest is read from the store.</summary>
    public const string EventsChannel = "instadeploy_events";
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(2);

    /// <summary>Called with each job stored waiting by any instance (this one included), in the order they were
    /// committed, on the listening connection's thread: handlers must return at once.</summary>
    public event Action<JobWaitingSignal>? JobWaiting;

    /// <summary>The <see cref="JobsChannel"/> payload for a job stored waiting: its agent, id and timeout, space-separated
    /// (agent ids and job ids have no spaces); the holder claims the job by it without reading the agent's list.</summary>
    public static string JobWaitingPayload(JobEntity job) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{job.AgentId} {job.Id} {job.TimeoutSeconds}");

    /// <summary>Reads a <see cref="JobsChannel"/> payload; an agent id alone (an instance of an earlier version) has no job.</summary>
    public static JobWaitingSignal? ParseJobWaiting(string payload)
    {
        var parts = payload.Split(' ');
        if (!Contracts.AgentIds.IsValid(parts[0])) return null;
        if (parts.Length == 1) return new JobWaitingSignal(parts[0], null, 0);
        return parts.Length == 3 && parts[1].Length > 0
            && int.TryParse(parts[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var timeout)
            ? new JobWaitingSignal(parts[0], parts[1], timeout)
            : null;
    }

    /// <summary>Called with the payload of each <see cref="EventsChannel"/> notification (any instance's, this one's too).</summary>
    public event Func<string, Task>? EventsArrived;

    /// <summary>Sends <paramref name="payload"/> on <see cref="EventsChannel"/> (at most 8000 bytes: PostgreSQL's limit).</summary>
    public async Task NotifyEventsAsync(string payload, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Sql("SELECT pg_notify(@channel, @payload)");
        command.Add("@channel", EventsChannel);
        command.Add("@payload", payload);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Says that <paramref name="job"/>, stored earlier, waits to be sent again (a send that failed), to every
    /// instance. A job stored waiting says so in its own transaction.</summary>
    public async Task NotifyJobWaitingAsync(JobEntity job, CancellationToken cancellationToken)
    {
        if (!database.IsPostgres) return;
        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var command = connection.Sql("SELECT pg_notify(@channel, @waiting)");
            command.Add("@channel", JobsChannel);
            command.Add("@waiting", JobWaitingPayload(job));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            logger.BackgroundTickFailed(e, nameof(ClusterSignals)); // the retry service sends it within seconds
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!database.IsPostgres) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = (NpgsqlConnection)database.OpenDedicated(synchronousNormal: false);
                connection.Notification += (_, e) =>
                {
                    if (e.Channel == JobsChannel)
                    {
                        if (JobWaiting is { } handler && ParseJobWaiting(e.Payload) is { } waiting) handler(waiting);
                    }
                    else if (e.Channel == EventsChannel && EventsArrived is { } events) _ = Task.Run(() => events(e.Payload), CancellationToken.None);
                };
                await using (var listen = connection.Sql($"LISTEN {JobsChannel}; LISTEN {EventsChannel}"))
                    await listen.ExecuteNonQueryAsync(stoppingToken);

                while (!stoppingToken.IsCancellationRequested) await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or System.IO.IOException)
            {
                // The server restarted or the network failed: listen again; jobs stored meanwhile go by the retry service.
                logger.BackgroundTickFailed(e, nameof(ClusterSignals));
                try { await Task.Delay(Reconnect, stoppingToken); } catch (OperationCanceledException) { return; }
            }
        }
    }
}

/// <summary>A job stored waiting for <see cref="AgentId"/>: <see cref="JobId"/> (null from an instance of an earlier
/// version, which names only the agent) with its timeout.</summary>
public sealed record JobWaitingSignal(string AgentId, string? JobId, int TimeoutSeconds);
