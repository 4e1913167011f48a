using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Delivery;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Jobs.Submission;

/// <summary>
/// Picks the agent a command goes to: the one named; else, for a project placed on exactly one agent, that one; else
/// the only online agent. Each refusal says what to send instead. On PostgreSQL "online" is cluster-wide: an agent
/// connected to another instance is online here too (its presence row, renewed under a lease by the instance that holds
/// it, <see cref="Cluster.ClusterPresence"/>); on SQLite, the one instance's own connections.
/// </summary>
public sealed class AgentChooser(IDbContextFactory<InstaDeployDbContext> databases, IAgentLinks links, Database database)
{
    public async Task<(string? AgentId, CommandRefusal? Refusal)> ChooseAsync(string? agentId, string? placedProject, bool allowOffline, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(agentId))
            return (agentId, await RequireAsync(agentId, allowOffline, cancellationToken));

        if (placedProject is not null)
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            var placements = await db.Deployments.Where(d => d.ProjectName == placedProject).Select(d => d.AgentId).ToListAsync(cancellationToken);
            if (placements.Count == 1)
                return (placements[0], await RequireAsync(placements[0], allowOffline, cancellationToken));
            if (placements.Count > 1)
                return (null, CommandRefusal.BadRequest("agent_id is required",
                    $"Project '{placedProject}' is deployed on several agents ({string.Join(", ", placements.Order(StringComparer.Ordinal))}); name one as agent_id."));
        }

        var online = await OnlineAgentIdsAsync(cancellationToken);
        return online.Count switch
        {
            1 => (online[0], null),
            0 => (null, CommandRefusal.BadRequest("agent_id is required", "No agent is online. Start an agent (see GET /agents), then retry.")),
            _ => (null, CommandRefusal.BadRequest("agent_id is required", $"{online.Count} agents are online ({string.Join(", ", online.Take(20))}{(online.Count > 20 ? ", …" : "")}); name one as agent_id.")),
        };
    }

    /// <summary>The agents online now, in order: on PostgreSQL every instance's (presence), on SQLite this one's connections.</summary>
    private async Task<List<string>> OnlineAgentIdsAsync(CancellationToken cancellationToken)
    {
        if (!database.IsPostgres) return links.ConnectedAgentIds.Order(StringComparer.Ordinal).ToList();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var online = await db.Agents.AsNoTracking().Where(a => a.Online).Select(a => a.Id).Take(1000).ToListAsync(cancellationToken);
        return [.. online.Union(links.ConnectedAgentIds).Order(StringComparer.Ordinal)];
    }

    /// <summary>The command types the agent's plugins run, or null when it never reported any (a seed agent).</summary>
    public async Task<IReadOnlyList<string>?> CommandTypesAsync(string agentId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var plugins = await db.Agents.AsNoTracking().Where(a => a.Id == agentId).Select(a => a.PluginsJson).FirstOrDefaultAsync(cancellationToken);
        return plugins is null ? null
            : [.. (System.Text.Json.JsonSerializer.Deserialize<List<Contracts.PluginInfo>>(plugins) ?? []).SelectMany(p => p.CommandTypes).Distinct().Order(StringComparer.Ordinal)];
    }

    /// <summary>Refusal for an agent never seen (404), or offline when that is not acceptable (409); null otherwise.</summary>
    private async Task<CommandRefusal?> RequireAsync(string agentId, bool allowOffline, CancellationToken cancellationToken)
    {
        if (links.TryGet(agentId, out _)) return null;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var known = await db.Agents.AsNoTracking().Where(a => a.Id == agentId).Select(a => new { a.Online }).FirstOrDefaultAsync(cancellationToken);
        if (known is null)
            return CommandRefusal.NotFound("Unknown agent", $"No agent '{agentId}' has ever connected. GET /agents lists the known agents.");
        // Held by another instance: the job row is the truth, and that instance is woken to send it.
        return allowOffline || (database.IsPostgres && known.Online)
            ? null
            : CommandRefusal.Conflict("Agent offline", $"Agent '{agentId}' is offline; nothing was created. (Deploy, stop, status and commands wait for an offline agent unless fail_fast is true; a health check never waits.)");
    }
}
