using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>
/// How many Server-Sent Events streams are open: at most INSTADEPLOY_MAX_STREAMS_PER_KEY per API key and
/// INSTADEPLOY_MAX_STREAMS in all, so streams held open (by a read key, say) cannot exhaust the control plane's
/// connections or memory. Per control-plane instance.
/// </summary>
public sealed class StreamLimits(IOptions<ControlPlaneOptions> options)
{
    private readonly ConcurrentDictionary<string, int> _perKey = new(StringComparer.Ordinal);
    private int _total;

    /// <summary>Streams open now.</summary>
    public int Open => Volatile.Read(ref _total);

    /// <summary>A place for one more stream of the request's key, or the 429 that says why there is none.</summary>
    public bool TryAcquire(HttpContext context, out IDisposable lease, out IResult refusal)
    {
        var key = context.User.FindFirst(ApiKeys.ApiKeyAuthenticationHandler.KeyIdClaim)?.Value ?? "";
        var settings = options.Value;
        if (Interlocked.Increment(ref _total) > settings.MaxStreams)
        {
            Interlocked.Decrement(ref _total);
            (lease, refusal) = (Released, TooMany($"The control plane already serves {settings.MaxStreams} streams (INSTADEPLOY_MAX_STREAMS); retry later."));
            return false;
        }
        if (_perKey.AddOrUpdate(key, 1, (_, n) => n + 1) > settings.MaxStreamsPerKey)
        {
            Release(key);
            (lease, refusal) = (Released, TooMany($"This API key already holds {settings.MaxStreamsPerKey} open streams (INSTADEPLOY_MAX_STREAMS_PER_KEY); close one, or retry later."));
            return false;
        }
        (lease, refusal) = (new Lease(this, key), TypedResults.Empty);
        return true;
    }

    private void Release(string key)
    {
        _perKey.AddOrUpdate(key, 0, (_, n) => n - 1);
        _perKey.TryRemove(new KeyValuePair<string, int>(key, 0));
        Interlocked.Decrement(ref _total);
    }

    private static ProblemHttpResult TooMany(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many streams", detail: detail);

    private static readonly IDisposable Released = new Lease(null, "");

    private sealed class Lease(StreamLimits? limits, string key) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (limits is not null && Interlocked.Exchange(ref _released, 1) == 0) limits.Release(key);
        }
    }
}
