using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Hub;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>
/// Picks the agent a command goes to: the one named; else, for a project deployed on exactly one agent, that one;
/// else the only online agent. Each refusal says what to send instead.
/// </summary>
public sealed class AgentSelector(InstaDeployDbContext db, AgentConnectionRegistry registry)
{
    /// <param name="agentId">The agent the caller named, if any.</param>
    /// <param name="deployedProject">For stop and status: the project, whose placement picks the agent.</param>
    /// <param name="allowOffline">Whether a known agent that is offline is acceptable (the job waits for it).</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    public async Task<(string? AgentId, ProblemHttpResult? Problem)> SelectAsync(string? agentId, string? deployedProject, bool allowOffline, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(agentId))
            return (agentId, await RequireAsync(agentId, allowOffline, cancellationToken));

        if (deployedProject is not null)
        {
            var placements = await db.Deployments.Where(d => d.ProjectName == deployedProject)
                .Select(d => d.AgentId).ToListAsync(cancellationToken);
            if (placements.Count == 1)
                return (placements[0], await RequireAsync(placements[0], allowOffline, cancellationToken));
            if (placements.Count > 1)
                return (null, Problems.BadRequest("agent_id is required",
                    $"Project '{deployedProject}' is deployed on several agents ({string.Join(", ", placements.Order())}); name one as agent_id."));
        }

        var online = registry.ConnectedAgentIds.Order(StringComparer.Ordinal).ToList();
        return online.Count switch
        {
            1 => (online[0], null),
            0 => (null, Problems.BadRequest("agent_id is required", "No agent is online. Start an agent (see GET /agents), then retry.")),
            _ => (null, Problems.BadRequest("agent_id is required",
                $"{online.Count} agents are online ({string.Join(", ", online)}); name one as agent_id.")),
        };
    }

    /// <summary>404 for an agent never seen, 409 for one that is offline, null when it is connected.</summary>
    public Task<ProblemHttpResult?> RequireOnlineAsync(string agentId, CancellationToken cancellationToken) =>
        RequireAsync(agentId, allowOffline: false, cancellationToken);

    private async Task<ProblemHttpResult?> RequireAsync(string agentId, bool allowOffline, CancellationToken cancellationToken)
    {
        if (registry.TryGet(agentId, out _)) return null;
        var known = await db.Agents.AnyAsync(a => a.Id == agentId, cancellationToken);
        if (!known)
            return Problems.NotFound("Unknown agent", $"No agent '{agentId}' has ever connected. GET /agents lists the known agents.");
        return allowOffline
            ? null
            : Problems.Conflict("Agent offline", $"Agent '{agentId}' is offline; nothing was created. (Deploy, stop, status and commands wait for an offline agent unless fail_fast is true; a health check never waits.)");
    }
}
