using Microsoft.AspNetCore.RateLimiting;

namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>Per-API-key rate limiting of the REST API: a token bucket per key, 429 problem details past it.</summary>
internal static class RateLimits
{
    public const string PerKey = "per-api-key";

    public static async ValueTask RejectAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = "1";
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails =
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Detail = "This API key made more requests than INSTADEPLOY_RATE_LIMIT_PER_SECOND allows; retry after a second.",
            },
        });
    }
}
