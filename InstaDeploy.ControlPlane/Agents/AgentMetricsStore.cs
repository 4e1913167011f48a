using System.Collections.Concurrent;
using InstaDeploy.Contracts;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>
/// The latest host and container metrics each connected agent sent (the agent-metrics extension), in memory: they are
/// replaced every few seconds and worth nothing after a restart. On several instances, each holds those of the agents
/// connected to it.
/// </summary>
public sealed class AgentMetricsStore(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (AgentMetricsMessage Sample, DateTimeOffset ReceivedAt)> _latest = new(StringComparer.Ordinal);

    /// <summary>Keeps a sample after bounding what an agent may send; false when it is not a plausible one.</summary>
    public bool Record(string agentId, AgentMetricsMessage sample)
    {
        if (sample.Containers is { Count: > AgentMetricsMessage.MaxContainers }) return false;
        if (double.IsNaN(sample.CpuPercent) || sample.CpuPercent is < 0 or > 100 || sample.MemoryTotalBytes < 0 || sample.DiskTotalBytes < 0) return false;
        var containers = sample.Containers?.Select(c => c with
        {
            Id = AgentLabels.Shown(c.Id.Length > 80 ? c.Id[..80] : c.Id),
            Name = AgentLabels.Shown(c.Name.Length > 200 ? c.Name[..200] : c.Name),
            Project = c.Project is null ? null : AgentLabels.Shown(c.Project.Length > 64 ? c.Project[..64] : c.Project),
        }).ToList();
        var error = sample.ContainersError is { } e ? AgentLabels.Shown(e.Length > 500 ? e[..500] : e) : null;
        _latest[agentId] = (sample with { Containers = containers, ContainersError = error }, time.GetUtcNow());
        return true;
    }

    public (AgentMetricsMessage Sample, DateTimeOffset ReceivedAt)? Latest(string agentId) => _latest.TryGetValue(agentId, out var entry) ? entry : null;

    public void Forget(string agentId) => _latest.TryRemove(agentId, out _);
}
