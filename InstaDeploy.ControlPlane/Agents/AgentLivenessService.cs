using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs.Delivery;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>
/// Marks every agent offline at start (no connection survives a restart), then keeps connected agents' last_seen
/// current. A dead connection is found by the WebSocket keep-alive (ping with a pong timeout), which ends it. On
/// PostgreSQL, other instances may hold agents' connections: nothing is marked offline at start, and last_seen is the
/// lease that <see cref="Cluster.ClusterPresence"/> lets run out for the agents of an instance that died.
/// </summary>
public sealed class AgentLivenessService(
    AgentStore agents, IAgentLinks links, Data.Database database, IOptions<ControlPlaneOptions> options, TimeProvider time,
    ILogger<AgentLivenessService> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!database.IsPostgres) await agents.MarkAllOfflineAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.AgentPingSeconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await agents.TouchAsync(links.ConnectedAgentIds, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.BackgroundTickFailed(e, nameof(AgentLivenessService));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
