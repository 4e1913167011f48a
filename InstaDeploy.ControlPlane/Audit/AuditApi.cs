using System.Text;
using System.Text.Json;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Audit;

/// <summary>An audit entry as the API shows it.</summary>
/// <param name="Id">Its number; entries are numbered in the order they were recorded.</param>
/// <param name="At">When.</param>
/// <param name="ActorKind">api_key, webhook, system or anonymous.</param>
/// <param name="ActorId">The API key's (or webhook's) id.</param>
/// <param name="ActorName">The API key's (or webhook's) name.</param>
/// <param name="SourceAddress">The client address.</param>
/// <param name="Action">What was done, e.g. deploy, variable.set, api_key.revoke, webhook.deliver.</param>
/// <param name="Target">What it was done to, e.g. project:web@vps-1, api_key:key_x, registry:ghcr.io.</param>
/// <param name="Outcome">succeeded, refused or failed.</param>
/// <param name="Status">The HTTP status it was answered with.</param>
/// <param name="Detail">Why it was refused, or what it created.</param>
/// <param name="Summary">The request, summarized, with secret values left out.</param>
/// <param name="JobId">The job it created, if any.</param>
public sealed record AuditEntryDto(long Id, DateTimeOffset At, string ActorKind, string? ActorId, string ActorName, string? SourceAddress,
    string Action, string Target, string Outcome, int Status, string Detail, JsonElement? Summary, string? JobId);

/// <summary>A page of the audit log, newest first.</summary>
/// <param name="Entries">The entries.</param>
/// <param name="NextBefore">Pass it as before= for the next (older) page; null when there is none.</param>
public sealed record AuditPageDto(AuditEntryDto[] Entries, long? NextBefore);

/// <summary>GET /audit (paged, filtered) and GET /audit/export (CSV or JSON, every matching entry). Admin scope.</summary>
public static class AuditApi
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var audit = app.MapGroup("/audit").WithTags("Audit log").RequireAuthorization(ApiKeys.ApiKeyScopes.Admin).RequireRateLimiting(RateLimits.PerKey);
        audit.MapGet("/", ListAsync)
            .WithName("ListAuditEntries")
            .WithSummary("Read the audit log, newest first")
            .WithDescription("Every state-changing call: time, actor (API key id and name, or webhook), source address, action, target, outcome, status and a summary of the request without secret values. Filters: action (exact, or a prefix ending in '.', e.g. rollout.), actor (an API key's or webhook's id or name), target (a prefix, e.g. project:web), outcome, since and until (RFC 3339). Paged: limit (default 100, max 1000) and before (next_before of the previous page), or cursor (the X-Next-Cursor, also in a Link header rel=\"next\", of the previous page).");
        audit.MapGet("/export", ExportAsync)
            .WithName("ExportAuditEntries")
            .WithSummary("Export the audit log as CSV or JSON")
            .WithDescription("Every entry matching the same filters as GET /audit, oldest first, as a download: format=csv (default; cells that a spreadsheet would run as a formula are prefixed with ') or format=json.")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv");
        return app;
    }

    /// <summary>The filters both endpoints take.</summary>
    public sealed record Filter(
        [property: FromQuery(Name = "action")] string? Action, [property: FromQuery(Name = "actor")] string? Actor,
        [property: FromQuery(Name = "target")] string? Target, [property: FromQuery(Name = "outcome")] string? Outcome,
        [property: FromQuery(Name = "since")] DateTimeOffset? Since, [property: FromQuery(Name = "until")] DateTimeOffset? Until);

    private static IQueryable<AuditEntryEntity> Apply(IQueryable<AuditEntryEntity> query, Filter filter)
    {
        if (filter.Action is { Length: > 0 } action)
            query = action.EndsWith('.') ? query.Where(e => e.Action.StartsWith(action)) : query.Where(e => e.Action == action);
        if (filter.Actor is { Length: > 0 } actor) query = query.Where(e => e.ActorId == actor || e.ActorName == actor);
        if (filter.Target is { Length: > 0 } target) query = query.Where(e => e.Target.StartsWith(target));
        if (filter.Outcome is { Length: > 0 } outcome) query = query.Where(e => e.Outcome == outcome);
        if (filter.Since is { } since) query = query.Where(e => e.At >= since);
        if (filter.Until is { } until) query = query.Where(e => e.At < until);
        return query;
    }

    public const string CursorList = "audit";

    private static async Task<IResult> ListAsync([AsParameters] Filter filter, [FromQuery(Name = "limit")] int? limit, [FromQuery(Name = "before")] long? before,
        [FromQuery(Name = "cursor")] string? cursor, InstaDeployDbContext db, HttpContext context, CancellationToken cancellationToken)
    {
        var (take, after, refusal) = PageCursor.Read(CursorList, 1, limit, cursor, DefaultLimit, MaxLimit);
        if (refusal is not null) return Problems.Invalid(refusal.Field!, refusal.Detail);
        var query = Apply(db.AuditLog.AsNoTracking(), filter);
        // before (next_before of the previous page) and cursor (its X-Next-Cursor) are the same position, spelled twice
        // so clients of either keep working.
        if (before is { } id) query = query.Where(e => e.Id < id);
        if (after is not null)
        {
            var afterId = PageCursor.Number(after[0]);
            query = query.Where(e => e.Id < afterId);
        }
        var entries = await query.OrderByDescending(e => e.Id).Take(take + 1).ToListAsync(cancellationToken);
        var page = entries.Take(take).Select(ToDto).ToArray();
        if (entries.Count > take) PageCursor.SetNext(context, PageCursor.Encode(CursorList, PageCursor.Key(page[^1].Id)));
        return TypedResults.Ok(new AuditPageDto(page, entries.Count > take ? page[^1].Id : null));
    }

    private static async Task ExportAsync([AsParameters] Filter filter, [FromQuery(Name = "format")] string? format, HttpContext context,
        InstaDeployDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var json = format is "json";
        if (format is not (null or "csv" or "json"))
        {
            await Problems.Invalid("format", "must be csv or json").ExecuteAsync(context);
            return;
        }
        context.Response.ContentType = json ? "application/json; charset=utf-8" : "text/csv; charset=utf-8";
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"instadeploy-audit-{time.GetUtcNow().UtcDateTime:yyyyMMdd'T'HHmmss'Z'}.{(json ? "json" : "csv")}\"";
        var entries = Apply(db.AuditLog.AsNoTracking(), filter).OrderBy(e => e.Id).AsAsyncEnumerable();
        await using var writer = new StreamWriter(context.Response.Body, new UTF8Encoding(false), 1 << 16);
        if (json)
        {
            await writer.WriteAsync('[');
            var first = true;
            await foreach (var entry in entries.WithCancellation(cancellationToken))
            {
                if (!first) await writer.WriteAsync(',');
                first = false;
                await writer.WriteAsync(JsonSerializer.Serialize(ToDto(entry), Json));
            }
            await writer.WriteAsync(']');
            return;
        }
        await writer.WriteAsync("id,at,actor_kind,actor_id,actor_name,source_address,action,target,outcome,status,detail,summary,job_id\r\n");
        await foreach (var e in entries.WithCancellation(cancellationToken))
        {
            string[] cells = [e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), e.At.ToString("O"), e.ActorKind, e.ActorId ?? "", e.ActorName,
                e.SourceAddress ?? "", e.Action, e.Target, e.Outcome, e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Detail, e.Summary ?? "", e.JobId ?? ""];
            await writer.WriteAsync(string.Join(',', cells.Select(Csv)) + "\r\n");
        }
    }

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>One CSV cell (RFC 4180), and never a formula: a spreadsheet runs a cell that starts with =, +, -, @ or a tab.</summary>
    public static string Csv(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r') value = "'" + value;
        return value.IndexOfAny([',', '"', '\r', '\n', '\'']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
    }

    private static AuditEntryDto ToDto(AuditEntryEntity e) => new(e.Id, e.At, e.ActorKind, e.ActorId, e.ActorName, e.SourceAddress, e.Action, e.Target,
        e.Outcome, e.Status, e.Detail, e.Summary is null ? null : JsonDocument.Parse(e.Summary).RootElement.Clone(), e.JobId);
}
