using System.Text;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>The reads of placements and revisions that lists and project pages show (GET /deployments…, the console).</summary>
public sealed class DeploymentQueries(IDbContextFactory<InstaDeployDbContext> databases)
{
    public const int DefaultRevisionLimit = 50;
    public const int MaxRevisionLimit = 1000;

    /// <summary>Every placement of every project, by project then agent; with <paramref name="agentId"/>, that agent's only.</summary>
    public async Task<DeploymentDto[]> ListAsync(CancellationToken cancellationToken, string? agentId = null)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Deployments.AsNoTracking();
        if (agentId is not null) query = query.Where(d => d.AgentId == agentId);
        var deployments = await query.OrderBy(d => d.ProjectName).ThenBy(d => d.AgentId).ToListAsync(cancellationToken);
        return [.. deployments.Select(ToDto)];
    }

    public const int DefaultLimit = 1000;
    public const int MaxLimit = 1000;
    public const string CursorList = "deployments";

    public static string CursorAfter(DeploymentDto d) => Infrastructure.PageCursor.Encode(CursorList, d.ProjectName, d.AgentId);

    /// <summary>One page of placements by project then agent (of one agent, with <paramref name="agentId"/>), after the
    /// cursor's; or why the limit or cursor is wrong. Read through the primary key (project, agent), or the
    /// (agent, project) index with an agent.</summary>
    public async Task<(DeploymentDto[]? Deployments, CommandRefusal? Refusal)> ListPageAsync(string? agentId, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        var (take, after, refusal) = Infrastructure.PageCursor.Read(CursorList, 2, limit, cursor, DefaultLimit, MaxLimit);
        if (refusal is not null) return (null, refusal);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Deployments.AsNoTracking();
        if (agentId is not null) query = query.Where(d => d.AgentId == agentId);
        if (after is not null)
        {
            var (project, agent) = (after[0], after[1]);
#pragma warning disable CA1309 // EF Core translates this overload to the database's comparison; the ordinal one has no translation
            query = query.Where(d => string.Compare(d.ProjectName, project) > 0 || (d.ProjectName == project && string.Compare(d.AgentId, agent) > 0));
#pragma warning restore CA1309
        }
        var deployments = await query.OrderBy(d => d.ProjectName).ThenBy(d => d.AgentId).Take(take).ToListAsync(cancellationToken);
        return ([.. deployments.Select(ToDto)], null);
    }

    /// <summary>How many placements there are, of how many projects, how many in each state, and how many come before the
    /// placement (<paramref name="firstShownProject"/>, <paramref name="firstShownAgent"/>) in the list's order (0 without
    /// one): the whole a page of <see cref="ListPageAsync"/> is part of, and where it starts. Counts in the database.</summary>
    public async Task<PlacementTally> CountAsync(string? firstShownProject, string? firstShownAgent, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var byState = await db.Deployments.GroupBy(d => d.State).Select(g => new { State = g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
        var projects = await db.Deployments.Select(d => d.ProjectName).Distinct().CountAsync(cancellationToken);
        var before = 0;
        if (firstShownProject is not null && firstShownAgent is not null)
        {
#pragma warning disable CA1309 // EF Core translates this overload to the database's comparison; the ordinal one has no translation
            before = await db.Deployments.CountAsync(d => string.Compare(d.ProjectName, firstShownProject) < 0
                || (d.ProjectName == firstShownProject && string.Compare(d.AgentId, firstShownAgent) < 0), cancellationToken);
#pragma warning restore CA1309
        }
        return new PlacementTally(byState.Sum(s => s.Count), projects,
            byState.OrderBy(s => s.State, StringComparer.Ordinal).ToDictionary(s => s.State, s => s.Count, StringComparer.Ordinal), before);
    }

    /// <summary>Where the project is placed, by agent; null if it was never deployed.</summary>
    public async Task<ProjectDeploymentsDto?> GetProjectAsync(string projectName, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var placements = await db.Deployments.AsNoTracking().Where(d => d.ProjectName == projectName)
            .OrderBy(d => d.AgentId).ToListAsync(cancellationToken);
        return placements.Count == 0 ? null : new ProjectDeploymentsDto(projectName, [.. placements.Select(ToDto)]);
    }

    /// <summary>The project's revisions, newest first (of one agent, with <paramref name="agentId"/>); or why not.</summary>
    public async Task<(RevisionDto[]? Revisions, CommandRefusal? Refusal)> ListRevisionsAsync(string projectName, string? agentId, int? limit, CancellationToken cancellationToken, string? cursor = null)
    {
        if (DeployService.ValidateProject(projectName) is { } invalid) return (null, invalid);
        // A cursor names its project: one of another project's revisions is another list.
        var (take, after, refusal) = Infrastructure.PageCursor.Read(RevisionCursorList(projectName), 1, limit, cursor, DefaultRevisionLimit, MaxRevisionLimit);
        if (refusal is not null) return (null, refusal);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Revisions.AsNoTracking().Where(r => r.ProjectName == projectName);
        if (agentId is not null) query = query.Where(r => r.AgentId == agentId);
        if (after is not null)
        {
            var before = (int)Infrastructure.PageCursor.Number(after[0]);
            query = query.Where(r => r.Number < before);
        }
        var revisions = await query.OrderByDescending(r => r.Number).Take(take).ToListAsync(cancellationToken);
        if (revisions.Count == 0 && after is null && !await db.Revisions.AnyAsync(r => r.ProjectName == projectName, cancellationToken))
            return (null, UnknownProject(projectName));
        var current = await CurrentRevisionsAsync(db, projectName, cancellationToken);
        return ([.. revisions.Select(r => ToDto(r, current, withCompose: false))], null);
    }

    private static string RevisionCursorList(string projectName) => "revisions:" + projectName;

    public static string RevisionCursorAfter(RevisionDto r) => Infrastructure.PageCursor.Encode(RevisionCursorList(r.ProjectName), Infrastructure.PageCursor.Key(r.Revision));

    /// <summary>One revision with its compose file (base64 in the answer); or why not.</summary>
    public async Task<(RevisionDto? Revision, CommandRefusal? Refusal)> GetRevisionAsync(string projectName, int number, CancellationToken cancellationToken)
    {
        if (DeployService.ValidateProject(projectName) is { } invalid) return (null, invalid);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var found = await db.Revisions.AsNoTracking().FirstOrDefaultAsync(r => r.ProjectName == projectName && r.Number == number, cancellationToken);
        if (found is null)
            return (null, CommandRefusal.NotFound("Unknown revision", $"Project '{projectName}' has no revision {number}. GET /deployments/{projectName}/revisions lists them."));
        return (ToDto(found, await CurrentRevisionsAsync(db, projectName, cancellationToken), withCompose: true), null);
    }

    /// <summary>The compose files of two revisions of a project, as text, for a diff; or why not.</summary>
    public async Task<(string? From, string? To, CommandRefusal? Refusal)> ComposePairAsync(string projectName, int from, int to, CancellationToken cancellationToken)
    {
        var (a, refusedA) = await GetRevisionAsync(projectName, from, cancellationToken);
        if (refusedA is not null) return (null, null, refusedA);
        var (b, refusedB) = await GetRevisionAsync(projectName, to, cancellationToken);
        if (refusedB is not null) return (null, null, refusedB);
        return (ComposeText(a!), ComposeText(b!), null);
    }

    /// <summary>A revision's compose file as text (it is stored and shown base64 encoded).</summary>
    public static string ComposeText(RevisionDto revision) =>
        revision.ComposeFileBase64 is { } base64 ? Encoding.UTF8.GetString(Convert.FromBase64String(base64)) : "";

    public static CommandRefusal UnknownProject(string projectName) =>
        CommandRefusal.NotFound("Unknown project", $"Project '{projectName}' has never been deployed. GET /deployments lists deployed projects.");

    /// <summary>The revision each agent runs now, by agent.</summary>
    private static async Task<Dictionary<string, int>> CurrentRevisionsAsync(InstaDeployDbContext db, string projectName, CancellationToken cancellationToken) =>
        await db.Deployments.AsNoTracking()
            .Where(d => d.ProjectName == projectName && d.CurrentRevision != null && d.State != DeploymentStates.Stopped)
            .ToDictionaryAsync(d => d.AgentId, d => d.CurrentRevision!.Value, cancellationToken);

    private static DeploymentDto ToDto(DeploymentEntity d) => new(d.ProjectName, d.AgentId, d.State, d.LastJobId, d.CreatedAt, d.UpdatedAt, d.CurrentRevision, d.ObservedAt, d.ObservedNote);

    private static RevisionDto ToDto(RevisionEntity r, Dictionary<string, int> current, bool withCompose) => new(
        r.Number, r.ProjectName, r.AgentId, r.JobId, r.ComposeSha256, r.VariableNames.Split(',', StringSplitOptions.RemoveEmptyEntries),
        r.CreatedBy, r.CreatedAt, r.FinishedAt, r.Outcome, r.RollbackOf, r.RolledBackTo,
        current.TryGetValue(r.AgentId, out var n) && n == r.Number,
        withCompose ? Convert.ToBase64String(Encoding.UTF8.GetBytes(r.ComposeYaml)) : null);
}

/// <summary>The whole a page of placements is part of: how many placements, of how many projects, how many in each state
/// (by state name), and how many come before the page's first.</summary>
public sealed record PlacementTally(int Total, int Projects, IReadOnlyDictionary<string, int> States, int Before);
