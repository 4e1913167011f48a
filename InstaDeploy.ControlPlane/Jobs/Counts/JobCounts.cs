using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Jobs.Counts;

/// <summary>How many jobs there are in each status.</summary>
/// <param name="Total">Every job stored.</param>
/// <param name="ByStatus">Per status (every status named, 0 included).</param>
/// <param name="Agents">The same per agent, by id, for the agents that have jobs (only the one asked for, with agent_id).</param>
public sealed record JobCountsDto(long Total, IReadOnlyDictionary<string, long> ByStatus, AgentJobCountsDto[] Agents);

/// <summary>One agent's jobs per status.</summary>
public sealed record AgentJobCountsDto(string AgentId, long Total, IReadOnlyDictionary<string, long> ByStatus);

/// <summary>
/// Jobs per status, overall and per agent, read from the counters the Jobs table's triggers keep (see
/// <see cref="JobCountEntity"/>): the cost is the number of agents, whatever the history holds.
/// </summary>
public sealed class JobCounts(IDbContextFactory<InstaDeployDbContext> databases)
{
    public async Task<JobCountsDto> ReadAsync(string? agentId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var counters = db.JobCounts.AsNoTracking().Select(c => new { c.AgentId, c.Status, N = c.Count });
        var deltas = db.JobCountDeltas.AsNoTracking().Select(d => new { d.AgentId, d.Status, N = d.Delta });
        var all = counters.Concat(deltas);
        if (agentId is not null) all = all.Where(c => c.AgentId == agentId);
        // One statement, so one snapshot: a compaction moving deltas into counters is seen wholly or not at all.
        var rows = await all.GroupBy(c => new { c.AgentId, c.Status })
            .Select(g => new { g.Key.AgentId, g.Key.Status, N = g.Sum(c => c.N) })
            .ToListAsync(cancellationToken);
        var overall = Empty();
        var agents = new SortedDictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        foreach (var row in rows.Where(r => r.N != 0))
        {
            overall[row.Status] = overall.GetValueOrDefault(row.Status) + row.N;
            if (!agents.TryGetValue(row.AgentId, out var mine)) agents[row.AgentId] = mine = Empty();
            mine[row.Status] = mine.GetValueOrDefault(row.Status) + row.N;
        }
        return new JobCountsDto(overall.Values.Sum(), overall, [.. agents.Select(a => new AgentJobCountsDto(a.Key, a.Value.Values.Sum(), a.Value))]);
    }

    private static Dictionary<string, long> Empty() => JobQueries.KnownStatuses.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal);
}
