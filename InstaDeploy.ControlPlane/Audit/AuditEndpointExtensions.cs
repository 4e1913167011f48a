// In ASP.NET Core's own namespace, like the endpoint conventions it stands beside (RequireAuthorization...).
namespace Microsoft.AspNetCore.Builder;

public static class AuditEndpointExtensions
{
    /// <summary>Marks a state-changing endpoint: its refusals are audited as <paramref name="action"/> (see <see cref="InstaDeploy.ControlPlane.Audit.AuditEndpointFilter"/>,
    /// and <see cref="InstaDeploy.ControlPlane.Audit.AuditForbiddenHandler"/> for a key without the scope).</summary>
    public static TBuilder Audited<TBuilder>(this TBuilder builder, string action) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new InstaDeploy.ControlPlane.Audit.AuditedAction(action))
            .AddEndpointFilter(new InstaDeploy.ControlPlane.Audit.AuditEndpointFilter(action));
}
