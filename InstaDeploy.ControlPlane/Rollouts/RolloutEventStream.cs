using System.Globalization;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Output;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>
/// GET /rollouts/{id}/events: every change of the rollout as Server-Sent Events, read from its stored events: a
/// <c>rollout</c> event (state, reason, counts) or a <c>target</c> event (one target's row), each with its number as
/// <c>id</c>. A client that reconnects with <c>Last-Event-ID</c> gets the events after it, none twice and none missed.
/// Once the rollout is finished and every event is sent, an <c>end</c> event closes the stream.
/// </summary>
public static class RolloutEventStream
{
    private const int Page = 500;
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan MaxFollow = TimeSpan.FromHours(6);

    public static async Task<IResult> GetAsync(string rolloutId, HttpContext context, IDbContextFactory<InstaDeployDbContext> databases, RolloutSignals signals, CancellationToken cancellationToken)
    {
        var header = context.Request.Headers["Last-Event-ID"].ToString();
        long after = 0;
        if (header.Length > 0 && (!long.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out after) || after < 0))
            return Infrastructure.Problems.Invalid("Last-Event-ID", "must be the id of an event this stream sent (a number, 0 or more)");
        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
        {
            if (!await db.Rollouts.AnyAsync(r => r.Id == rolloutId, cancellationToken))
                return Infrastructure.Problems.NotFound("Unknown rollout", $"No rollout '{rolloutId}'. GET /rollouts lists them.");
        }

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(MaxFollow);
        try
        {
            await response.StartAsync(limit.Token);
            await response.Body.FlushAsync(limit.Token);
            while (true)
            {
                var changed = signals.Next(rolloutId);
                await using var db = await databases.CreateDbContextAsync(limit.Token);
                var events = await db.RolloutEvents.AsNoTracking().Where(e => e.RolloutId == rolloutId && e.Seq > after)
                    .OrderBy(e => e.Seq).Take(Page).ToListAsync(limit.Token);
                foreach (var item in events)
                {
                    await response.Body.WriteAsync(Sse.Encode(item.Type, item.DataJson, item.Seq), limit.Token);
                    after = item.Seq;
                }
                if (events.Count > 0) await response.Body.FlushAsync(limit.Token);
                if (events.Count == Page) continue;
                var state = await db.Rollouts.AsNoTracking().Where(r => r.Id == rolloutId).Select(r => new { r.State, r.LastEventSeq }).FirstAsync(limit.Token);
                if (!RolloutStates.IsOpen(state.State) && after >= state.LastEventSeq)
                {
                    await response.Body.WriteAsync(Sse.Encode("end", $"{{\"state\":\"{state.State}\"}}", null), limit.Token);
                    await response.Body.FlushAsync(limit.Token);
                    break;
                }
                if (await Task.WhenAny(changed, Task.Delay(KeepAlive, limit.Token)) != changed)
                {
                    await response.Body.WriteAsync(Sse.KeepAlive, limit.Token);
                    await response.Body.FlushAsync(limit.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away, or the follow limit passed.
        }
        return TypedResults.Empty;
    }
}
