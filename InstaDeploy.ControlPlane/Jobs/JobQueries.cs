using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Output;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>Which jobs a list shows: any of agent, project and status, newest first, at most <see cref="Limit"/>;
/// <see cref="Cursor"/> continues after the last job of the previous page (see <see cref="Infrastructure.PageCursor"/>).</summary>
public sealed record JobFilter(string? AgentId = null, string? ProjectName = null, string? Status = null, int? Limit = null, string? Type = null, string? Cursor = null);

/// <summary>The reads of jobs that lists and job pages show (GET /jobs, GET /jobs/{id}, the console's pages).</summary>
public sealed class JobQueries(IDbContextFactory<InstaDeployDbContext> databases, JobOutputFollower output)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    /// <summary>The name a cursor of this list carries: a cursor of another list is refused.</summary>
    public const string CursorList = "jobs";

    /// <summary>The cursor of the page after <paramref name="job"/>.</summary>
    public static string CursorAfter(JobSummaryDto job) => Infrastructure.PageCursor.Encode(CursorList, Infrastructure.PageCursor.Key(job.CreatedAt), job.JobId);

    public static readonly string[] KnownStatuses =
        [JobStatuses.Pending, JobStatuses.Sent, JobStatuses.Running, JobStatuses.Completed, JobStatuses.Failed, JobStatuses.TimedOut, JobStatuses.Expired];

    /// <summary>The jobs the filter selects, newest first, without their output and result; or why the filter is wrong.</summary>
    public async Task<(JobSummaryDto[]? Jobs, CommandRefusal? Refusal)> ListAsync(JobFilter filter, CancellationToken cancellationToken)
    {
        if (filter.Status is { } status && !KnownStatuses.Contains(status))
            return (null, CommandRefusal.Invalid("status", $"'{status}' is not a job status; use one of {string.Join(", ", KnownStatuses)}"));
        var (limit, after, refusal) = Infrastructure.PageCursor.Read(CursorList, 2, filter.Limit, filter.Cursor, DefaultLimit, MaxLimit);
        if (refusal is not null) return (null, refusal);

        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Jobs.AsNoTracking();
        if (filter.AgentId is not null) query = query.Where(j => j.AgentId == filter.AgentId);
        if (filter.ProjectName is not null) query = query.Where(j => j.ProjectName == filter.ProjectName);
        if (filter.Status is not null) query = query.Where(j => j.Status == filter.Status);
        if (filter.Type is not null) query = query.Where(j => j.Type == filter.Type);
        if (after is not null)
        {
            var (afterAt, afterId) = (Infrastructure.PageCursor.Time(after[0]), after[1]);
            // EF Core translates the two-argument string.Compare to the database's own (ordinal for these ASCII ids)
            // comparison; the overload with a StringComparison that CA1309 asks for has no translation.
#pragma warning disable CA1309
            query = query.Where(j => j.CreatedAt < afterAt || (j.CreatedAt == afterAt && string.Compare(j.Id, afterId) < 0));
#pragma warning restore CA1309
        }
        // Without the output, payload and result columns: a list's cost must not grow with what each job printed.
        var jobs = await query.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id).Take(limit)
            .Select(j => new JobSummaryDto(j.Id, j.Type, j.AgentId, j.ProjectName, j.Status, j.Error, j.CreatedAt, j.UpdatedAt, j.CompletedAt))
            .ToListAsync(cancellationToken);
        return ([.. jobs], null);
    }

    /// <summary>One job with its output so far (streamed output included while it runs) and result; null if unknown.</summary>
    public async Task<JobDto?> GetAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var job = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (job is null) return null;
        // A running job's output is streamed into its own store (and memory) until it ends.
        if (!JobStatuses.IsTerminal(job.Status) && await output.ReadAsync(jobId, cancellationToken) is { } read) job.Logs = read.Text;
        return job.ToDto();
    }

    /// <summary>The newest job of <paramref name="type"/> for the project on each agent that ended COMPLETED, with its
    /// result (e.g. the last STATUS of each placement).</summary>
    public async Task<Dictionary<string, JobDto>> LatestCompletedAsync(string projectName, string type, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var placed = (await db.Deployments.AsNoTracking().Where(d => d.ProjectName == projectName).Select(d => d.AgentId).ToListAsync(cancellationToken))
            .ToHashSet(StringComparer.Ordinal);
        // One query (newest per agent, a window function), not one per placement: a project on 100 agents is one read.
        var jobs = await db.Jobs.AsNoTracking()
            .Where(j => j.ProjectName == projectName && j.Type == type && j.Status == JobStatuses.Completed)
            .GroupBy(j => j.AgentId)
            .Select(g => g.OrderByDescending(j => j.CreatedAt).First())
            .ToListAsync(cancellationToken);
        var latest = new Dictionary<string, JobDto>(StringComparer.Ordinal);
        foreach (var job in jobs)
            if (placed.Contains(job.AgentId)) latest[job.AgentId] = job.ToDto();
        return latest;
    }
}
