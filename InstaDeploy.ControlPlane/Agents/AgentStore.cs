using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>Persists agents' identity and online state.</summary>
public sealed class AgentStore(IDbContextFactory<InstaDeployDbContext> databases, DatabaseWriteGate writes, Audit.AuditLog audit, TimeProvider time)
{
    /// <summary>Most connections one transaction records.</summary>
    private const int MaxConnectBatch = 500;

    private readonly System.Collections.Concurrent.ConcurrentQueue<Connect> _connects = new();
    private readonly SemaphoreSlim _connectWriter = new(1, 1);

    /// <summary>
    /// Records a connection and the labels the agent announced (null: keep those stored, the announcement was invalid);
    /// returns when the agent was last seen connected before, or null for an agent never seen. Connections that arrive
    /// together share one transaction (a group commit: after a restart, 10,000 agents dial within seconds, and one
    /// commit each kept them offline in GET /agents for minutes). Each caller returns only once its own connection is
    /// committed, as before, so its later disconnect is always written after it; the wait is not cancelled for that reason.
    /// </summary>
    public async Task<DateTimeOffset?> MarkConnectedAsync(string agentId, string version, string architecture, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken)
    {
        var connect = new Connect(agentId, version, architecture, labels);
        _connects.Enqueue(connect);
        while (!connect.Done.Task.IsCompleted)
        {
            // Whoever holds the writer commits every connection queued so far, this one's included or not.
            await _connectWriter.WaitAsync(CancellationToken.None);
            try
            {
                if (!connect.Done.Task.IsCompleted) await CommitConnectsAsync();
            }
            finally
            {
                _connectWriter.Release();
            }
        }
        return await connect.Done.Task;
    }

    private async Task CommitConnectsAsync()
    {
        var batch = new List<Connect>();
        while (batch.Count < MaxConnectBatch && _connects.TryDequeue(out var next)) batch.Add(next);
        if (batch.Count == 0) return;
        try
        {
            using var write = await writes.EnterAsync(CancellationToken.None);
            await using var db = await databases.CreateDbContextAsync(CancellationToken.None);
            var now = time.GetUtcNow();
            var ids = batch.Select(c => c.AgentId).Distinct(StringComparer.Ordinal).ToList();
            var agents = await db.Agents.Where(a => ids.Contains(a.Id)).ToDictionaryAsync(a => a.Id, StringComparer.Ordinal, CancellationToken.None);
            var lastSeen = new DateTimeOffset?[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                var connect = batch[i];
                if (!agents.TryGetValue(connect.AgentId, out var agent))
                {
                    agents[connect.AgentId] = agent = new AgentEntity { Id = connect.AgentId, Hostname = connect.AgentId, FirstSeen = now };
                    db.Agents.Add(agent);
                }
                else lastSeen[i] = agent.LastSeen;
                agent.Version = connect.Version;
                agent.Architecture = connect.Architecture;
                if (connect.Labels is not null) agent.AnnouncedLabelsJson = AgentLabelSet.ToJson(connect.Labels);
                agent.Online = true;
                agent.ConnectedAt = now;
                agent.LastSeen = now;
            }
            await db.SaveChangesAsync(CancellationToken.None);
            for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(lastSeen[i]);
        }
        catch (Exception e)
        {
            foreach (var connect in batch) connect.Done.TrySetException(e);
        }
    }

    private sealed record Connect(string AgentId, string Version, string Architecture, IReadOnlyDictionary<string, string>? Labels)
    {
        public TaskCompletionSource<DateTimeOffset?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
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
