using System.Buffers;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Jobs.Output;

/// <summary>
/// GET /jobs/{id}/logs: the output so far as text, or with <c>follow=true</c> a Server-Sent Events stream: <c>log</c>
/// events with the lines so far and then each new batch the moment the agent sends it, then an <c>end</c> event with the
/// final status and error. Each <c>log</c> event's <c>id</c> is the number of its last line: a client that reconnects
/// with <c>Last-Event-ID</c> gets the lines after it, none twice and none missed.
/// </summary>
public static class JobLogStream
{
    private static readonly TimeSpan MaxFollow = TimeSpan.FromHours(1);

    public static async Task<IResult> GetAsync(string jobId, bool? follow, HttpContext context, JobOutputFollower output, Infrastructure.StreamLimits streams,
        Retention.JobRetention retention, CancellationToken cancellationToken)
    {
        if (!TryReadLastEventId(context.Request, out var afterSeq))
            return Infrastructure.Problems.Invalid("Last-Event-ID", "must be the id of an event this stream sent (a line number, 0 or more)");
        if (follow != true)
        {
            var read = await output.ReadAsync(jobId, cancellationToken);
            return read is null ? UnknownJob(jobId, retention) : TypedResults.Text(read.Value.Text, "text/plain; charset=utf-8");
        }
        if (!await output.ExistsAsync(jobId, cancellationToken)) return UnknownJob(jobId, retention);
        if (!streams.TryAcquire(context, out var lease, out var refusal)) return refusal;
        using (lease) return await StreamAsync(jobId, afterSeq, context, output, MaxFollow, cancellationToken);
    }

    /// <summary>Streams the job's output as Server-Sent Events for at most <paramref name="maxFollow"/>; the caller holds
    /// the stream's place in <see cref="Infrastructure.StreamLimits"/>.</summary>
    public static async Task<IResult> StreamAsync(string jobId, long afterSeq, HttpContext context, JobOutputFollower output, TimeSpan maxFollow, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // proxies must not hold the stream back
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(maxFollow);
        try
        {
            // The headers now, not with the first line (which may be minutes away): clients see the stream is open.
            await response.StartAsync(limit.Token);
            await response.Body.FlushAsync(limit.Token);
            await output.FollowAsync(jobId, afterSeq, item => Write(response, item), limit.Token, async () => await response.BodyWriter.FlushAsync(limit.Token));
        }
        catch (OperationCanceledException)
        {
            // The client went away, or the follow limit passed.
        }
        return TypedResults.Empty;
    }

    /// <summary>Puts the event in the response's pipe; the follower flushes once it has written all that is queued.</summary>
    private static ValueTask Write(HttpResponse response, OutputEvent item)
    {
        var bytes = item switch
        {
            LinesEvent lines => lines.Encoded,
            ResetEvent reset => Sse.Encode("reset", reset.Text, reset.LastSeq),
            EndEvent end => Sse.Encode("end", JsonSerializer.Serialize(new { status = end.Status, error = end.Error }), null),
            _ => Sse.KeepAlive,
        };
        // The same bytes for every follower of a line; one flush (one send) for everything a follower had queued.
        response.BodyWriter.Write(bytes);
        return ValueTask.CompletedTask;
    }

    /// <summary>The line number a reconnecting client last got (header <c>Last-Event-ID</c>); 0 when absent.</summary>
    private static bool TryReadLastEventId(HttpRequest request, out long afterSeq)
    {
        afterSeq = 0;
        var value = request.Headers["Last-Event-ID"].ToString();
        return value.Length == 0 || (long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out afterSeq) && afterSeq >= 0);
    }

    private static ProblemHttpResult UnknownJob(string jobId, Retention.JobRetention retention) =>
        Infrastructure.Problems.NotFound(retention.MayHaveRemoved(jobId) ? "Job removed by retention" : "Unknown job", retention.NotFoundDetail(jobId));
}
