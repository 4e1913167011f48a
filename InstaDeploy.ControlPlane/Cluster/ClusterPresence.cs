using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Cluster;

/// <summary>
/// Presence with a lease, when instances share PostgreSQL: an agent is online while the instance holding its socket
/// renews its last_seen (every INSTADEPLOY_AGENT_PING_SECONDS, <see cref="Agents.AgentLivenessService"/>). An instance
/// that dies renews nothing; the leading instance then marks its agents offline after three missed renewals, and they
/// come back online when they reconnect through the balancer to an instance that lives. No instance marks every agent
/// offline at its start, as the single SQLite instance does: the others' agents are still connected.
/// </summary>
public sealed class ClusterPresence(
    Database database, ClusterLeader leader, IDbContextFactory<InstaDeployDbContext> databases, IOptions<ControlPlaneOptions> options,
    TimeProvider time, ILogger<ClusterPresence> logger) : BackgroundService
{
    /// <summary>How many renewals an agent's lease survives missing.</summary>
    public const int MissedRenewals = 3;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!database.IsPostgres) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.AgentPingSeconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    if (await leader.TryLeadAsync(stoppingToken)) await ExpireAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.BackgroundTickFailed(e, nameof(ClusterPresence));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Marks offline the agents whose lease ran out; returns how many.</summary>
    public async Task<int> ExpireAsync(CancellationToken cancellationToken)
    {
        var lease = TimeSpan.FromSeconds(options.Value.AgentPingSeconds * MissedRenewals);
        var before = time.GetUtcNow() - lease;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var count = await db.Agents.Where(a => a.Online && a.LastSeen < before)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Online, false), cancellationToken);
        if (count > 0) logger.PresenceExpired(count, (int)lease.TotalSeconds);
        return count;
    }
}
