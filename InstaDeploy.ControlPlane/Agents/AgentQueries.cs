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

    public const int DefaultLimit = 1000;
    public const int MaxLimit = 1000;
    public const string CursorList = "agents";

    public static string CursorAfter(AgentDto agent) => Infrastructure.PageCursor.Encode(CursorList, agent.Id);

    /// <summary>
    /// One page of the agents a selector matches (all without one), by id, after the cursor's agent; or why the selector,
    /// limit or cursor is wrong. Labels are JSON, so the selector is applied here, to the agents read through the primary
    /// key in id order a batch at a time: a page reads the agents up to its last match, never the jobs or any history.
    /// </summary>
    public async Task<(AgentDto[]? Agents, CommandRefusal? Refusal)> ListPageAsync(string? selector, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        var (take, after, refusal) = Infrastructure.PageCursor.Read(CursorList, 1, limit, cursor, DefaultLimit, MaxLimit);
        if (refusal is not null) return (null, refusal);
        LabelSelector? filter = null;
        if (selector is not null)
        {
            (filter, var error) = LabelSelector.Parse(selector);
            if (error is not null) return (null, CommandRefusal.Invalid("selector", error));
        }
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var page = new List<AgentDto>(Math.Min(take, 256));
        var from = after?[0];
        const int Batch = 500;
        // A selector's first read is a page's worth (most selectors an operator pages through match most agents); when
        // it did not fill the page, the next reads are batches.
        for (var first = true; ; first = false)
        {
            var want = filter is null || first ? take - page.Count : Batch;
            var query = db.Agents.AsNoTracking();
#pragma warning disable CA1309 // EF Core translates this overload to the database's comparison; the ordinal one has no translation
            if (from is not null) query = query.Where(a => string.Compare(a.Id, from) > 0);
#pragma warning restore CA1309
            var batch = await query.OrderBy(a => a.Id).Take(want).ToListAsync(cancellationToken);
            foreach (var agent in batch)
            {
                if (page.Count == take) break;
                if (filter is null || filter.Matches(agent.Effective())) page.Add(agent.ToDto());
            }
            if (page.Count == take || batch.Count < want) break;
            from = batch[^1].Id;
        }
        return ([.. page], null);
    }

    /// <summary>
    /// How many agents a selector matches (all without one), how many of them are online, and how many come before
    /// <paramref name="firstShownId"/> in the list's order (0 without one): the whole a page of <see cref="ListPageAsync"/>
    /// is part of, and where it starts. Without a selector these are counts in the database; with one, the labels of
    /// every agent are read (they are JSON), and nothing else of them.
    /// </summary>
    public async Task<(AgentTally? Tally, CommandRefusal? Refusal)> CountAsync(string? selector, string? firstShownId, CancellationToken cancellationToken)
    {
        LabelSelector? filter = null;
        if (selector is not null)
        {
            (filter, var error) = LabelSelector.Parse(selector);
            if (error is not null) return (null, CommandRefusal.Invalid("selector", error));
        }
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        if (filter is null)
        {
            var byState = await db.Agents.GroupBy(a => a.Online).Select(g => new { Online = g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
            var before = 0;
#pragma warning disable CA1309 // EF Core translates this overload to the database's comparison; the ordinal one has no translation
            if (firstShownId is not null) before = await db.Agents.CountAsync(a => string.Compare(a.Id, firstShownId) < 0, cancellationToken);
#pragma warning restore CA1309
            return (new AgentTally(byState.Sum(s => s.Count), byState.Where(s => s.Online).Sum(s => s.Count), before), null);
        }
        // In the database's id order, as pages are, so that "before" counts what the earlier pages showed.
        var rows = await db.Agents.AsNoTracking().OrderBy(a => a.Id)
            .Select(a => new { a.Id, a.Online, a.AnnouncedLabelsJson, a.LabelOverridesJson }).ToListAsync(cancellationToken);
        var (total, online, ahead, reached) = (0, 0, 0, firstShownId is null);
        foreach (var row in rows)
        {
            if (!filter.Matches(AgentLabelSet.Effective(row.AnnouncedLabelsJson, row.LabelOverridesJson))) continue;
            reached |= string.Equals(row.Id, firstShownId, StringComparison.Ordinal);
            if (!reached) ahead++;
            total++;
            if (row.Online) online++;
        }
        return (new AgentTally(total, online, reached ? ahead : 0), null);
    }

    /// <summary>One agent, or null if it never connected.</summary>
    public async Task<AgentDto?> GetAsync(string agentId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var agent = await db.Agents.AsNoTracking().FirstOrDefaultAsync(a => a.Id == agentId, cancellationToken);
        if (agent is null) return null;
        var update = await db.AgentUpdates.AsNoTracking().FirstOrDefaultAsync(u => u.AgentId == agentId, cancellationToken);
        return agent.ToDto() with { LastUpdate = update is null ? null : Releases.AgentUpdateDto.Of(update) };
    }
}

/// <summary>The whole a page of agents is part of: how many agents the list holds, how many are online, and how many come
/// before the page's first.</summary>
public sealed record AgentTally(int Total, int Online, int Before)
{
    public int Offline => Total - Online;
}
