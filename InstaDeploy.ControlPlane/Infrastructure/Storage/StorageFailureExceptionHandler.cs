using Microsoft.AspNetCore.Diagnostics;

namespace InstaDeploy.ControlPlane.Infrastructure.Storage;

/// <summary>
/// A request that failed because the database could not be used (disk full, read-only, locked too long, unreachable)
/// answers 503 with problem details that say so and what to do, instead of a bare 500; the failure is recorded for
/// <c>/health</c>. Nothing of such a request was stored: every write is one transaction.
/// </summary>
internal sealed class StorageFailureExceptionHandler(IProblemDetailsService problemDetails, StorageHealth health,
    Microsoft.Extensions.Options.IOptions<ControlPlaneOptions> options, ILogger<StorageFailureExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>Seconds a client is told to wait before it retries.</summary>
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (StorageFailure.Classify(exception) is not { } classified) return false;
        var failure = StorageFailure.Refine(classified, options.Value.DataDirectory);
        var where = $"{httpContext.Request.Method} {httpContext.GetEndpoint()?.DisplayName?.Split(' ').LastOrDefault() ?? httpContext.Request.Path.Value}";
        health.Record(where, failure);
        logger.StorageFailed(where, failure.Kind, exception.GetBaseException().Message);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = failure.Title,
                Detail = failure.Detail,
                Extensions = { ["storage_failure"] = failure.Kind },
            },
        });
    }
}
