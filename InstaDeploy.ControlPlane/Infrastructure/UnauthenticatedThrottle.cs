using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>
/// Requests that carry no valid API key are throttled per client address, so nobody can guess keys, flood the agents'
/// handshake or the enrollment endpoint, or fill the log with refusals faster than these rates: agent handshakes
/// (<c>/ws</c>) by INSTADEPLOY_HANDSHAKE_RATE_PER_IP, everything else (401s, <c>/agents/enroll</c>, <c>/health</c>) by
/// INSTADEPLOY_UNAUTHENTICATED_RATE_PER_IP, each with bursts of ten times the rate. Requests with a valid API key are
/// limited per key instead (<see cref="RateLimits"/>).
/// </summary>
public sealed class UnauthenticatedThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _handshakes;
    private readonly PartitionedRateLimiter<IPAddress> _others;

    public UnauthenticatedThrottle(IOptions<ControlPlaneOptions> options)
    {
        _handshakes = PerAddress(options.Value.HandshakeRatePerIp);
        _others = PerAddress(options.Value.UnauthenticatedRatePerIp);
    }

    private static PartitionedRateLimiter<IPAddress> PerAddress(int perSecond) => PartitionedRateLimiter.Create<IPAddress, IPAddress>(address =>
        RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perSecond * 10,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
        }));

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (context.User.Identity?.IsAuthenticated == true)
        {
            await next(context);
            return;
        }
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        var handshake = context.Request.Path.StartsWithSegments("/ws");
        using var lease = (handshake ? _handshakes : _others).AttemptAcquire(address);
        if (lease.IsAcquired)
        {
            await next(context);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = "1";
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Detail = handshake
                    ? "Too many agent connections from this address (INSTADEPLOY_HANDSHAKE_RATE_PER_IP); the agent retries with backoff."
                    : "Too many requests without a valid API key from this address (INSTADEPLOY_UNAUTHENTICATED_RATE_PER_IP); send 'Authorization: Bearer <api key>', or retry after a second.",
            },
        });
    }

    public void Dispose()
    {
        _handshakes.Dispose();
        _others.Dispose();
    }
}

public static class UnauthenticatedThrottleExtensions
{
    /// <summary>Throttles requests without a valid API key per client address; after UseAuthentication.</summary>
    public static IApplicationBuilder UseUnauthenticatedThrottle(this IApplicationBuilder app) =>
        app.Use((context, next) => context.RequestServices.GetRequiredService<UnauthenticatedThrottle>().InvokeAsync(context, _ => next()));
}
