using System.Collections.Concurrent;
using System.Text;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>
/// The latest host and container metrics of each agent (the agent-metrics extension), one row per agent in the
/// database so that every instance answers for every agent. What an agent sends is bounded before it is kept (at most
/// <see cref="AgentMetricsMessage.MaxContainers"/> containers, cut names, <see cref="MaxSampleBytes"/>, one sample per
/// <see cref="MinInterval"/>; more often is dropped); the samples of all agents connected here are written together every
/// <see cref="FlushInterval"/>, one statement per agent in one transaction, not one write per message.
/// </summary>
public sealed partial class AgentMetricsStore(IDbContextFactory<InstaDeployDbContext> databases, DatabaseWriteGate writes, TimeProvider time,
    ILogger<AgentMetricsStore> logger) : BackgroundService
{
    /// <summary>Samples of one agent closer together than this are dropped (AGENT_METRICS_SECONDS is at least 1).</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(900);

    /// <summary>How often the samples received since are written.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(2);

    /// <summary>Largest sample kept, as stored.</summary>
    public const int MaxSampleBytes = 256 * 1024;

    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastKept = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AgentMetricsEntity> _unwritten = new(StringComparer.Ordinal);

    /// <summary>Keeps a sample after bounding what an agent may send; false when it is not a plausible one. A sample that
    /// comes sooner than <see cref="MinInterval"/> after the last one kept is dropped (true: nothing is wrong with it).</summary>
    public bool Record(string agentId, AgentMetricsMessage sample)
    {
        if (sample.Containers is { Count: > AgentMetricsMessage.MaxContainers }) return false;
        if (!double.IsFinite(sample.CpuPercent) || sample.CpuPercent is < 0 or > 100 || sample.CpuCount is < 0 or > 100_000
            || sample.MemoryTotalBytes < 0 || sample.MemoryUsedBytes < 0 || sample.DiskTotalBytes < 0 || sample.DiskFreeBytes < 0) return false;
        if (sample.Containers?.Any(c => c.CpuPercent is { } cpu && (!double.IsFinite(cpu) || cpu < 0) || c.MemoryBytes < 0 || c.MemoryLimitBytes < 0) == true) return false;
        var now = time.GetUtcNow();
        if (_lastKept.TryGetValue(agentId, out var last) && now - last < MinInterval) return true;
        var containers = sample.Containers?.Select(c => c with
        {
            Id = AgentLabels.Shown(c.Id.Length > 80 ? c.Id[..80] : c.Id),
            Name = AgentLabels.Shown(c.Name.Length > 200 ? c.Name[..200] : c.Name),
            Project = c.Project is null ? null : AgentLabels.Shown(c.Project.Length > 64 ? c.Project[..64] : c.Project),
        }).ToList();
        var error = sample.ContainersError is { } e ? AgentLabels.Shown(e.Length > 500 ? e[..500] : e) : null;
        var json = Encoding.UTF8.GetString(WireJson.Serialize(sample with { Containers = containers, ContainersError = error }));
        if (json.Length > MaxSampleBytes) return false;
        _lastKept[agentId] = now;
        _unwritten[agentId] = new AgentMetricsEntity { AgentId = agentId, ReceivedAt = now, SampleJson = json };
        return true;
    }

    /// <summary>An agent's latest sample and when it was received, or null when it never sent one.</summary>
    public async Task<(AgentMetricsMessage Sample, DateTimeOffset ReceivedAt)?> LatestAsync(string agentId, CancellationToken cancellationToken) =>
        (await LatestAsync([agentId], cancellationToken)).TryGetValue(agentId, out var latest) ? latest : null;

    /// <summary>The latest samples of <paramref name="agentIds"/> (those that sent one).</summary>
    public async Task<IReadOnlyDictionary<string, (AgentMetricsMessage Sample, DateTimeOffset ReceivedAt)>> LatestAsync(IReadOnlyCollection<string> agentIds, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, (AgentMetricsMessage, DateTimeOffset)>(StringComparer.Ordinal);
        var wanted = agentIds.Distinct(StringComparer.Ordinal).ToList();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        foreach (var chunk in wanted.Chunk(500))
            foreach (var row in await db.AgentMetrics.AsNoTracking().Where(m => chunk.Contains(m.AgentId)).ToListAsync(cancellationToken))
                if (Parse(row) is { } sample) found[row.AgentId] = (sample, row.ReceivedAt);
        // Received here and not written yet: newer than the row.
        foreach (var id in wanted)
            if (_unwritten.TryGetValue(id, out var pending) && Parse(pending) is { } sample) found[id] = (sample, pending.ReceivedAt);
        return found;
    }

    private static AgentMetricsMessage? Parse(AgentMetricsEntity row)
    {
        try
        {
            return WireJson.ParseAgentMessage(Encoding.UTF8.GetBytes(row.SampleJson)) as AgentMetricsMessage;
        }
        catch (WireFormatException)
        {
            return null;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await FlushAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Writes the samples received since the last flush: an update of the agent's row, or its first insert.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_unwritten.IsEmpty) return;
        // Left in _unwritten until written (reads see them meanwhile); then each goes unless a newer one replaced it.
        var taken = _unwritten.ToArray();
        var batch = taken.Select(e => new AgentMetricsEntity { AgentId = e.Value.AgentId, ReceivedAt = e.Value.ReceivedAt, SampleJson = e.Value.SampleJson }).ToList();
        try
        {
            using var write = await writes.EnterAsync(cancellationToken);
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            foreach (var chunk in batch.Chunk(500))
            {
                var ids = chunk.Select(s => s.AgentId).ToList();
                var rows = await db.AgentMetrics.Where(m => ids.Contains(m.AgentId)).ToDictionaryAsync(m => m.AgentId, StringComparer.Ordinal, cancellationToken);
                foreach (var sample in chunk)
                {
                    if (rows.TryGetValue(sample.AgentId, out var row))
                    {
                        row.ReceivedAt = sample.ReceivedAt;
                        row.SampleJson = sample.SampleJson;
                    }
                    else db.AgentMetrics.Add(sample);
                }
            }
            await db.SaveChangesAsync(cancellationToken);
            foreach (var entry in taken) _unwritten.TryRemove(entry);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
        {
            // Another instance inserted the same agent's first row meanwhile, or the database is away: still unwritten,
            // tried again at the next flush.
            Log.FlushFailed(logger, batch.Count, e.Message);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(8201, LogLevel.Warning, "{Count} agent metrics sample(s) could not be written, tried again in a moment: {Reason}")]
        public static partial void FlushFailed(ILogger logger, int count, string reason);
    }
}
