using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>Persists agents' identity and online state.</summary>
public sealed class AgentStore(IDbContextFactory<InstaDeployDbContext> databases, DatabaseWriteGate writes, Audit.AuditLog audit, TimeProvider time)
{
    /// <summary>Records a connection and the labels the agent announced (null: keep those stored, the announcement was
    /// invalid); returns when the agent was last seen connected before, or null for an agent never seen.</summary>
    public async Task<DateTimeOffset?> MarkConnectedAsync(string agentId, string version, string architecture, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken)
    {
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var agent = await db.Agents.FindAsync([agentId], cancellationToken);
        var lastSeen = agent?.LastSeen;
        if (agent is null)
        {
            agent = new AgentEntity { Id = agentId, Hostname = agentId, FirstSeen = now };
            db.Agents.Add(agent);
        }
        agent.Version = version;
        agent.Architecture = architecture;
        if (labels is not null) agent.AnnouncedLabelsJson = AgentLabelSet.ToJson(labels);
        agent.Online = true;
        agent.ConnectedAt = now;
        agent.LastSeen = now;
        await db.SaveChangesAsync(cancellationToken);
        return lastSeen;
    }

    public async Task MarkDisconnectedAsync(string agentId, CancellationToken cancellationToken)
    {
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        await db.Agents.Where(a => a.Id == agentId)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Online, false).SetProperty(a => a.LastSeen, now), cancellationToken);
    }

    /// <summary>Agents connected through this process are online; at start that is none of them.</summary>
    public async Task MarkAllOfflineAsync(CancellationToken cancellationToken)
    {
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await db.Agents.Where(a => a.Online).ExecuteUpdateAsync(s => s.SetProperty(a => a.Online, false), cancellationToken);
    }

    /// <summary>Stores the plugins an agent reported.</summary>
    public async Task SetPluginsAsync(string agentId, IReadOnlyList<PluginInfo> plugins, CancellationToken cancellationToken)
    {
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var json = JsonSerializer.Serialize(plugins);
        await db.Agents.Where(a => a.Id == agentId)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.PluginsJson, json), cancellationToken);
    }

    /// <summary>Replaces an agent's admin label overrides (null clears them); false for an unknown agent.</summary>
    public async Task<AgentEntity?> SetLabelOverridesAsync(string agentId, IReadOnlyDictionary<string, string?>? overrides, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var agent = await db.Agents.FindAsync([agentId], cancellationToken);
        if (agent is null) return null;
        agent.LabelOverridesJson = overrides is null ? null : AgentLabelSet.ToJson(overrides);
        audit.Add(db, actor, overrides is null ? Audit.AuditActions.AgentLabelsClear : Audit.AuditActions.AgentLabelsSet, $"agent:{agentId}", Audit.AuditOutcomes.Succeeded, 200, "",
            overrides is null ? null : new { labels = overrides });
        await db.SaveChangesAsync(cancellationToken);
        return agent;
    }

    /// <summary>Sets last_seen to now for agents whose connection is alive (the socket answers pings), and online: the
    /// instance that holds the socket says so, even if another instance marked the agent offline meanwhile.</summary>
    public async Task TouchAsync(IReadOnlyCollection<string> agentIds, CancellationToken cancellationToken)
    {
        if (agentIds.Count == 0) return;
        using var write = await writes.EnterAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        foreach (var chunk in agentIds.Chunk(500))
            await db.Agents.Where(a => chunk.Contains(a.Id))
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.LastSeen, now).SetProperty(a => a.Online, true), cancellationToken);
    }
}
