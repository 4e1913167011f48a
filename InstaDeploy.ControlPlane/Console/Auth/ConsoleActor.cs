using Microsoft.AspNetCore.Http;

namespace InstaDeploy.ControlPlane.WebConsole.Auth;

/// <summary>Who a console action is recorded as in the audit log: the session's API key, from the address of the request.</summary>
public static class ConsoleActor
{
    public static Audit.AuditActor Of(HttpContext context) =>
        Audit.AuditActor.Of(context.User, context.Connection.RemoteIpAddress?.ToString());
}
