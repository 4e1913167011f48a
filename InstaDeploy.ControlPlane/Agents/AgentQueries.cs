using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>The reads of agents that lists and agent pages show (GET /agents, GET /agents/{id}, the console's pages).</summary>
public sealed class AgentQueries(IDbContextFactory<InstaDeployDbContext> databases)
{
    /// <summary>Every agent ever seen, by id, those a selector matches when one is given; or why the selector is wrong.</summary>
    public async Task<(AgentDto[]? Agents, CommandRefusal? Refusal)> ListAsync(string? selector, CancellationToken cancellationToken)
    {
        LabelSelector? filter = null;
        if (selector is not null)
        {
            (filter, var error) = LabelSelector.Parse(selector);
            if (error is not null) return (null, CommandRefusal.Invalid("selector", error));
        }
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var agents = await db.Agents.AsNoTracking().OrderBy(a => a.Id).ToListAsync(cancellationToken);
        return ([.. agents.Where(a => filter is null || filter.Matches(a.Effective())).Select(a => a.ToDto())], null);
    }

    /// <summary>One agent, or null if it never connected.</summary>
    public async Task<AgentDto?> GetAsync(string agentId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var agent = await db.Agents.AsNoTracking().FirstOrDefaultAsync(a => a.Id == agentId, cancellationToken);
        return agent?.ToDto();
    }
}
