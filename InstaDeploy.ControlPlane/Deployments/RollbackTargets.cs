using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>Which revision a rollback on one agent deploys again.</summary>
public static class RollbackTargets
{
    /// <summary>
    /// The revision named (it must have been deployed on that agent: its variables are the ones merged for it), or by
    /// default the last success before what runs there now. When what runs is itself a rollback, from the revision it
    /// restored: rolling back again keeps going back (3 -> 2 -> 1) instead of returning to the revision just left.
    /// </summary>
    public static async Task<(RevisionEntity? Target, CommandRefusal? Refusal)> FindAsync(
        InstaDeployDbContext db, string projectName, string agentId, int? number, CancellationToken cancellationToken)
    {
        if (number is { } named)
        {
            var revision = await db.Revisions.AsNoTracking().FirstOrDefaultAsync(r => r.ProjectName == projectName && r.Number == named, cancellationToken);
            if (revision is null)
                return (null, CommandRefusal.NotFound("Unknown revision", $"Project '{projectName}' has no revision {named}. GET /deployments/{projectName}/revisions lists them."));
            if (revision.AgentId != agentId)
                return (null, CommandRefusal.Conflict("Revision of another agent",
                    $"Revision {named} of '{projectName}' was deployed on agent '{revision.AgentId}', not '{agentId}'. Roll back to one of '{agentId}'s revisions (GET /deployments/{projectName}/revisions?agent_id={agentId}), or deploy the file anew with POST /deploy."));
            return (revision, null);
        }

        var placement = await db.Deployments.AsNoTracking().FirstOrDefaultAsync(d => d.ProjectName == projectName && d.AgentId == agentId, cancellationToken);
        var last = await db.Revisions.AsNoTracking().Where(r => r.ProjectName == projectName && r.AgentId == agentId)
            .OrderByDescending(r => r.Number).FirstOrDefaultAsync(cancellationToken);
        if (last is null)
            return (null, CommandRefusal.Conflict("Nothing to roll back", $"Project '{projectName}' was never deployed on agent '{agentId}'. Name a revision to deploy it there."));
        var from = last.Outcome is RevisionOutcomes.Succeeded or RevisionOutcomes.RolledBack && placement?.CurrentRevision is { } current
            ? current
            : last.Number;
        var running = await db.Revisions.AsNoTracking().FirstOrDefaultAsync(r => r.ProjectName == projectName && r.Number == from, cancellationToken);
        if (running?.RollbackOf is { } restored) from = restored;
        var target = await db.Revisions.AsNoTracking()
            .Where(r => r.ProjectName == projectName && r.AgentId == agentId && r.Outcome == RevisionOutcomes.Succeeded && r.Number < from)
            .OrderByDescending(r => r.Number).FirstOrDefaultAsync(cancellationToken);
        return target is null
            ? (null, CommandRefusal.Conflict("Nothing to roll back to",
                $"Project '{projectName}' has no successful revision on agent '{agentId}' before revision {from}. GET /deployments/{projectName}/revisions lists its revisions; name one as revision."))
            : (target, null);
    }
}
