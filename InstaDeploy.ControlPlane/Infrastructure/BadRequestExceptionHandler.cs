using Microsoft.AspNetCore.Diagnostics;

namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>
/// Turns a request the framework cannot read (malformed JSON, wrong types, a body over the size limit) into
/// problem details that say what was wrong, instead of an empty 400.
/// </summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is System.Security.Cryptography.CryptographicException)
        {
            // Secret variables cannot be encrypted or decrypted: the key ring is missing, unreadable or not the one used.
            return await WriteAsync(httpContext, exception, StatusCodes.Status500InternalServerError, "Secret variables cannot be read or written",
                "The Data Protection key ring (INSTADEPLOY_KEY_RING_DIR, default <data>/keys) is missing, unreadable, or not the one the variables were encrypted with. Restore it from backup, or set the project's secret variables again.");
        }
        if (exception is not BadHttpRequestException badRequest) return false;

        var detail = badRequest.InnerException is System.Text.Json.JsonException json
            ? $"The request body is not valid JSON for this endpoint: {json.Message}"
            : badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? "The request body is larger than this endpoint accepts."
                : badRequest.Message;
        return await WriteAsync(httpContext, exception, badRequest.StatusCode,
            badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Payload too large" : "Bad request", detail);
    }

    private async ValueTask<bool> WriteAsync(HttpContext httpContext, Exception exception, int status, string title, string detail)
    {
        httpContext.Response.StatusCode = status;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
