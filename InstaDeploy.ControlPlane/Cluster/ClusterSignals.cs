using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Npgsql;

namespace InstaDeploy.ControlPlane.Cluster;

/// <summary>
/// Wakes the instance that holds an agent's connection when another instance stored a job for it: the job row is the
/// truth; a PostgreSQL NOTIFY on <see cref="JobsChannel"/> (payload: the agent id) only says "look now", so a lost
/// notification costs the delivery retry's few seconds, never the job. On SQLite (one instance) there is nobody to wake.
/// </summary>
public sealed class ClusterSignals(Database database, ILogger<ClusterSignals> logger) : BackgroundService
{
    public const string JobsChannel = "instadeploy_jobs";

    /// <summary>Wake-ups about things followed on every instance (<see cref="ClusterEvents"/>): output stored, a job
    /// ended, a rollout changed. Each payload starts with the sender's instance id; the rest is read from the store.</summary>
    public const string EventsChannel = "instadeploy_events";
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(2);

    /// <summary>Called with the agent id of each job stored waiting by any instance (this one included).</summary>
    public event Func<string, Task>? JobWaiting;

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

    /// <summary>Says that a job for <paramref name="agentId"/> waits to be sent, to every instance.</summary>
    public async Task NotifyJobWaitingAsync(string agentId, CancellationToken cancellationToken)
    {
        if (!database.IsPostgres) return;
        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var command = connection.Sql("SELECT pg_notify(@channel, @agent)");
            command.Add("@channel", JobsChannel);
            command.Add("@agent", agentId);
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
                    if (e.Channel == JobsChannel && JobWaiting is { } handler) _ = Task.Run(() => handler(e.Payload), CancellationToken.None);
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
