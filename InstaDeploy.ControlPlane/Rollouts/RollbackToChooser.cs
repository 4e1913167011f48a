using System.Text.Json;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>
/// What a rollout with <c>rollback_to</c> deploys: one compose file (by its SHA-256) that succeeded on every target,
/// and on each target the newest of its own successful revisions of that file, so each agent gets back the variables
/// it ran it with.
/// </summary>
internal static class RollbackToChooser
{
    public const string NewestCommon = "newest_common";

    public sealed record Choice(string Spec, string ComposeSha256, IReadOnlyDictionary<string, int> RevisionByAgent, string Description);

    public static async Task<(Choice? Choice, CommandRefusal? Refusal)> ChooseAsync(
        InstaDeployDbContext db, string project, IReadOnlyList<string> agentIds, JsonElement rollbackTo, CancellationToken cancellationToken)
    {
        int? named = null;
        if (rollbackTo.ValueKind == JsonValueKind.Number && rollbackTo.TryGetInt32(out var number) && number >= 1) named = number;
        else if (!(rollbackTo.ValueKind == JsonValueKind.String && rollbackTo.GetString() == NewestCommon))
            return (null, CommandRefusal.Invalid("rollback_to", $"must be \"{NewestCommon}\" or a revision number (1 or more)"));

        var targets = agentIds.ToHashSet(StringComparer.Ordinal);
        var succeeded = (await db.Revisions.AsNoTracking()
                .Where(r => r.ProjectName == project && r.Outcome == RevisionOutcomes.Succeeded)
                .Select(r => new { r.AgentId, r.Number, r.ComposeSha256 }).ToListAsync(cancellationToken))
            .Where(r => targets.Contains(r.AgentId)).ToList();
        // Per agent: each compose file that succeeded there, with the newest revision of it.
        var byAgent = succeeded.GroupBy(r => r.AgentId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.GroupBy(r => r.ComposeSha256).ToDictionary(f => f.Key, f => f.Max(r => r.Number)), StringComparer.Ordinal);
        var without = agentIds.Where(a => !byAgent.ContainsKey(a)).ToList();
        if (without.Count > 0)
            return (null, CommandRefusal.Conflict("No revision to roll back to",
                $"Project '{project}' never succeeded on {List(without)}, so no compose file succeeded on every target. Leave those agents out of the targets, or deploy a file with compose_file_base64."));

        string sha;
        if (named is { } n)
        {
            var revision = await db.Revisions.AsNoTracking().FirstOrDefaultAsync(r => r.ProjectName == project && r.Number == n, cancellationToken);
            if (revision is null)
                return (null, CommandRefusal.NotFound("Unknown revision", $"Project '{project}' has no revision {n}. GET /deployments/{project}/revisions lists them."));
            sha = revision.ComposeSha256;
            var lacking = agentIds.Where(a => !byAgent[a].ContainsKey(sha)).ToList();
            if (lacking.Count > 0)
                return (null, CommandRefusal.Conflict("Revision not on every target",
                    $"The compose file of revision {n} (sha256 {sha[..12]}…) never succeeded on {List(lacking)}. Use rollback_to \"{NewestCommon}\", or leave those agents out."));
        }
        else
        {
            var common = byAgent.Values.Select(files => (IEnumerable<string>)files.Keys).Aggregate((a, b) => a.Intersect(b)).ToHashSet();
            // What every target runs now is no rollback: skip it.
            var running = await db.Deployments.AsNoTracking().Where(d => d.ProjectName == project && d.CurrentRevision != null && d.State != DeploymentStates.Stopped)
                .Join(db.Revisions, d => new { d.ProjectName, Number = d.CurrentRevision!.Value }, r => new { r.ProjectName, r.Number }, (d, r) => new { d.AgentId, r.ComposeSha256 })
                .ToListAsync(cancellationToken);
            var runningOnTargets = running.Where(r => targets.Contains(r.AgentId)).ToList();
            if (runningOnTargets.Count == agentIds.Count && runningOnTargets.Select(r => r.ComposeSha256).Distinct().Count() == 1)
                common.Remove(runningOnTargets[0].ComposeSha256);
            if (common.Count == 0)
                return (null, CommandRefusal.Conflict("No revision to roll back to",
                    $"No compose file of '{project}' succeeded on all {agentIds.Count} targets other than the one they all run now ("
                    + string.Join(", ", agentIds.Take(10).Select(a => $"{a}: {byAgent[a].Count} file(s)")) + (agentIds.Count > 10 ? ", …" : "")
                    + "). GET /deployments/{project}/revisions lists what ran where; name a revision, or deploy a file with compose_file_base64."));
            sha = common.MaxBy(file => byAgent.Values.Max(files => files.TryGetValue(file, out var newest) ? newest : 0))!;
        }

        var revisions = agentIds.ToDictionary(a => a, a => byAgent[a][sha], StringComparer.Ordinal);
        var description = $"compose file sha256 {sha[..12]}…, as revision "
            + string.Join(", ", agentIds.Take(20).Select(a => $"{revisions[a]} on {a}")) + (agentIds.Count > 20 ? $" and {agentIds.Count - 20} more" : "");
        return (new Choice(named?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? NewestCommon, sha, revisions, description), null);
    }

    private static string List(List<string> agents) =>
        string.Join(", ", agents.Take(10).Select(a => $"'{a}'")) + (agents.Count > 10 ? $" and {agents.Count - 10} more" : "");
}
