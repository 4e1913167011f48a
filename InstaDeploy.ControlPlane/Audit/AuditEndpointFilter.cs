namespace InstaDeploy.ControlPlane.Audit;

/// <summary>
/// On a state-changing endpoint: when the request was refused before the domain operation it calls ran (and so recorded
/// its own entry), records the refusal, with the target named by the route. The operations record everything else
/// themselves, the same whether a REST call or a console page called them.
/// </summary>
internal sealed class AuditEndpointFilter(string action) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var scope = AuditScope.Begin();
        var result = await next(context);
        if (scope.Recorded) return result;
        var status = StatusOf(result) ?? context.HttpContext.Response.StatusCode;
        if (status < 400) return result; // nothing refused, and nothing changed that an operation did not record
        var http = context.HttpContext;
        var actor = AuditActor.Of(http.User, http.Connection.RemoteIpAddress?.ToString());
        var detail = Detail(result);
        await http.RequestServices.GetRequiredService<AuditLog>().RecordAsync(actor, action, TargetOf(http), AuditOutcomes.Refused, status, detail);
        return result;
    }

    /// <summary>What the route names, in the audit log's words: <c>project:web variable:LOG_LEVEL</c>, <c>api_key:key_x</c>…</summary>
    public static string TargetOf(HttpContext http)
    {
        var parts = new List<string>();
        foreach (var (key, value) in http.Request.RouteValues)
        {
            var name = key switch
            {
                "projectName" => "project",
                "agentId" => "agent",
                "name" => "variable",
                "keyId" => "api_key",
                "tokenId" => "enrollment_token",
                "rolloutId" => "rollout",
                "host" => "registry",
                "webhookId" => "webhook",
                _ => null,
            };
            if (name is not null && value is string text) parts.Add($"{name}:{(text.Length > 120 ? text[..120] : text)}");
        }
        return parts.Count == 0 ? http.Request.Path.Value ?? "" : string.Join(' ', parts);
    }

    private static int? StatusOf(object? result) => result switch
    {
        INestedHttpResult nested => StatusOf(nested.Result),
        IStatusCodeHttpResult { StatusCode: { } code } => code,
        _ => null,
    };

    private static string Detail(object? result) => result switch
    {
        INestedHttpResult nested => Detail(nested.Result),
        ProblemHttpResult problem => $"{problem.ProblemDetails.Title}: {problem.ProblemDetails.Detail}",
        ValidationProblem validation => $"{validation.ProblemDetails.Title}: {validation.ProblemDetails.Detail}",
        _ => "",
    };
}
