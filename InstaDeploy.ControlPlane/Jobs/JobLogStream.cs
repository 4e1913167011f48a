using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>
/// GET /jobs/{id}/logs: the stored log as text, or with <c>follow=true</c> a Server-Sent Events stream: the lines so far
/// (<c>log</c> events), new ones as they are stored, then an <c>end</c> event with the final status and error.
/// </summary>
public static class JobLogStream
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxFollow = TimeSpan.FromHours(1);

    public static async Task<IResult> GetAsync(string jobId, bool? follow, HttpContext context, IDbContextFactory<InstaDeployDbContext> databases, CancellationToken cancellationToken)
    {
        var job = await ReadAsync(databases, jobId, cancellationToken);
        if (job is null)
            return Infrastructure.Problems.NotFound("Unknown job", $"No job '{jobId}'. GET /jobs lists jobs.");
        if (follow != true) return TypedResults.Text(job.Value.Logs, "text/plain; charset=utf-8");

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // proxies must not hold the stream back
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(MaxFollow);
        try
        {
            // The headers now, not with the first line (which may be minutes away): clients see the stream is open.
            await response.StartAsync(limit.Token);
            await response.Body.FlushAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            return TypedResults.Empty;
        }

        var sent = "";
        try
        {
            while (true)
            {
                var (logs, status, error) = job!.Value;
                if (logs.Length > sent.Length && logs.StartsWith(sent, StringComparison.Ordinal))
                    await WriteEventAsync(response, "log", logs[sent.Length..], limit.Token);
                else if (logs != sent)
                    await WriteEventAsync(response, "reset", logs, limit.Token); // the final log differs from the streamed one
                sent = logs;
                if (JobStatuses.IsTerminal(status))
                {
                    await WriteEventAsync(response, "end", JsonSerializer.Serialize(new { status, error }), limit.Token);
                    break;
                }
                await Task.Delay(PollInterval, limit.Token);
                job = await ReadAsync(databases, jobId, limit.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away, or the follow limit passed.
        }
        return TypedResults.Empty;
    }

    private static async Task<(string Logs, string Status, string Error)?> ReadAsync(IDbContextFactory<InstaDeployDbContext> databases, string jobId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var job = await db.Jobs.AsNoTracking().Where(j => j.Id == jobId)
            .Select(j => new { j.Logs, j.Status, j.Error }).FirstOrDefaultAsync(cancellationToken);
        return job is null ? null : (job.Logs, job.Status, job.Error);
    }

    /// <summary>One SSE event; each line of the text becomes a <c>data:</c> line, as the format requires.</summary>
    private static async Task WriteEventAsync(HttpResponse response, string name, string text, CancellationToken cancellationToken)
    {
        var lines = text.EndsWith('\n') ? text[..^1].Split('\n') : text.Split('\n');
        await response.WriteAsync($"event: {name}\n" + string.Concat(lines.Select(l => $"data: {l}\n")) + "\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
