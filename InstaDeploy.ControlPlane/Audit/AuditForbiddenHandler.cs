using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;

namespace InstaDeploy.ControlPlane.Audit;

/// <summary>The action an audited endpoint records (set by <c>Audited(action)</c>).</summary>
public sealed record AuditedAction(string Action);

/// <summary>
/// Records a state-changing call refused because its API key lacks the scope it needs (403): a known key trying what it
/// may not is what an operator looks for. Calls without a valid key (401) are not recorded: anyone can send those, and
/// recording them would let a stranger fill the log; the unauthenticated throttle bounds them instead.
/// </summary>
internal sealed class AuditForbiddenHandler(AuditLog audit) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden && context.GetEndpoint()?.Metadata.GetMetadata<AuditedAction>() is { } audited)
        {
            var scopes = policy.Requirements.OfType<ClaimsAuthorizationRequirement>().SelectMany(r => r.AllowedValues ?? []).ToArray();
            var detail = scopes.Length > 0 ? $"Forbidden: the API key lacks the {string.Join(" or ", scopes)} scope" : "Forbidden";
            await audit.RecordAsync(AuditActor.Of(context.User, context.Connection.RemoteIpAddress?.ToString()), audited.Action,
                AuditEndpointFilter.TargetOf(context), AuditOutcomes.Refused, StatusCodes.Status403Forbidden, detail);
        }
        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}
