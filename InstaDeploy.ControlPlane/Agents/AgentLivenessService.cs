using InstaDeploy.ControlPlane.Jobs.Delivery;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>
/// Marks every agent offline at start (no connection survives a restart), then keeps connected agents' last_seen
/// current. A dead connection is found by the WebSocket keep-alive (ping with a pong timeout), which ends it.
/// </summary>
public sealed class AgentLivenessService(
    AgentStore agents, IAgentLinks links, IOptions<ControlPlaneOptions> options, TimeProvider time,
    ILogger<AgentLivenessService> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await agents.MarkAllOfflineAsync(cancellationToken);
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
