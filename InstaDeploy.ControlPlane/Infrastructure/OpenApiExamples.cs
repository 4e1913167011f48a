using System.Text.Json;
using System.Text.Json.Nodes;

namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>Examples shown in the API reference, one per request body and per successful answer.</summary>
internal static class OpenApiExamples
{
    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static readonly object Agent = new
    {
        id = "vps-1", hostname = "vps-1", version = "1.0.0", architecture = "linux-amd64", online = true,
        last_seen = "2026-11-27T10:15:00+00:00", first_seen = "2026-11-20T08:00:00+00:00", connected_at = "2026-11-27T09:00:00+00:00",
        labels = new Dictionary<string, string> { ["region"] = "eu", ["role"] = "web" },
        announced_labels = new Dictionary<string, string> { ["region"] = "eu", ["role"] = "web" },
        label_overrides = (object?)null,
    };

    public static readonly object Accepted = new { job_id = "job-01a21c9719f67f8095d5c2b50c9fd7d3", agent_id = "vps-1", status = "SENT" };

    public static readonly object Job = new
    {
        job_id = "job-01a21c9719f67f8095d5c2b50c9fd7d3", type = "DEPLOY_COMPOSE", agent_id = "vps-1", project_name = "test-app",
        status = "COMPLETED", logs = "Creating test-app_web_1 ... done\nDeployment successful\n", error = "", result = (object?)null,
        created_at = "2026-11-27T10:15:00+00:00", updated_at = "2026-11-27T10:15:02+00:00", completed_at = "2026-11-27T10:15:02+00:00",
    };

    public static readonly object Deployment = new
    {
        project_name = "test-app", agent_id = "vps-1", state = "running", last_job_id = "job-01a21c9719f67f8095d5c2b50c9fd7d3",
        created_at = "2026-11-27T10:15:00+00:00", updated_at = "2026-11-27T10:15:02+00:00",
    };

    /// <summary>Shows <paramref name="example"/> as the JSON request body example in the API reference.</summary>
    public static RouteHandlerBuilder WithRequestExample(this RouteHandlerBuilder builder, object example)
    {
        var node = JsonSerializer.SerializeToNode(example, SnakeCase);
        return builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.RequestBody?.Content is { } content && content.TryGetValue("application/json", out var media))
                media.Example = node?.DeepClone();
            return Task.CompletedTask;
        });
    }

    /// <summary>Documents a raw request body of <paramref name="contentType"/>. Unlike <c>Accepts</c>, it adds no routing
    /// constraint, so a caller without a valid key is told 401 before anything about its body (415).</summary>
    public static RouteHandlerBuilder WithRawRequestBody(this RouteHandlerBuilder builder, string contentType) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new Microsoft.OpenApi.OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType> { [contentType] = new() },
            };
            return Task.CompletedTask;
        });

    /// <summary>Shows <paramref name="example"/> as the JSON example of the answer with <paramref name="statusCode"/>.</summary>
    public static RouteHandlerBuilder WithResponseExample(this RouteHandlerBuilder builder, int statusCode, object example)
    {
        var node = JsonSerializer.SerializeToNode(example, SnakeCase);
        return builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.Responses?.TryGetValue(statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response) == true
                && response.Content is { } content && content.TryGetValue("application/json", out var media))
                media.Example = node?.DeepClone();
            return Task.CompletedTask;
        });
    }
}
