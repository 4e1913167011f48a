using System.Security.Claims;
using InstaDeploy.ControlPlane.ApiKeys;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace InstaDeploy.ControlPlane.WebConsole.Auth;

/// <summary>
/// The console's own session: an HttpOnly, SameSite=Strict cookie made by posting an API key to the sign-in form. It
/// carries the key's id and scopes, never the key, and every request re-reads the key from the store, so a revoked or
/// expired key ends its sessions at once. The cookie counts on the console's paths only: the REST API authenticates
/// Bearer keys alone, so a cookie can never be used for a cross-site request against it.
/// </summary>
public static class ConsoleAuthentication
{
    public const string Scheme = "Console";

    /// <summary>The default scheme: the cookie on the console's paths, the Bearer API key everywhere else.</summary>
    public const string Selector = "ConsoleOrApiKey";

    public const string CookieName = "instadeploy_console";

    public const string SignInPath = "/ui/sign-in";

    public const string SignOutPath = "/ui/sign-out";

    public const string DeniedPath = "/ui/denied";

    /// <summary>The console's pages (/ and /ui/...) and Blazor's circuit (/_blazor).</summary>
    public static bool IsConsolePath(PathString path) =>
        path == "/" || path.StartsWithSegments("/ui") || path.StartsWithSegments("/_blazor");

    public static AuthenticationBuilder AddConsoleCookie(this AuthenticationBuilder authentication)
    {
        authentication.AddCookie(Scheme, cookie =>
        {
            cookie.Cookie.Name = CookieName;
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.Cookie.Path = "/";
            cookie.LoginPath = SignInPath;
            cookie.AccessDeniedPath = DeniedPath;
            cookie.ReturnUrlParameter = "return";
            // A fixed lifetime from sign-in: a stolen cookie does not live on by being used.
            cookie.SlidingExpiration = false;
            cookie.Events = new CookieAuthenticationEvents
            {
                OnValidatePrincipal = ValidateAsync,
                OnRedirectToLogin = context => Refuse(context, StatusCodes.Status401Unauthorized),
                OnRedirectToAccessDenied = context => Refuse(context, StatusCodes.Status403Forbidden),
            };
        });
        authentication.AddPolicyScheme(Selector, "Console cookie or API key", policy =>
            policy.ForwardDefaultSelector = context => IsConsolePath(context.Request.Path) ? Scheme : ApiKeyAuthenticationHandler.SchemeName);
        return authentication;
    }

    /// <summary>The session's key, as the store has it now: unknown, revoked or expired ends the session.</summary>
    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var keyId = context.Principal?.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim);
        var keys = context.HttpContext.RequestServices.GetRequiredService<ApiKeyStore>();
        var key = keyId is null ? null : await keys.FindActiveAsync(keyId, context.HttpContext.RequestAborted);
        if (key is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
            return;
        }
        context.ReplacePrincipal(PrincipalOf(key));
    }

    /// <summary>The session's principal: the same claims a Bearer request with the key gets.</summary>
    public static ClaimsPrincipal PrincipalOf(Data.ApiKeyEntity key) =>
        new(new ClaimsIdentity(ApiKeyAuthenticationHandler.ClaimsOf(key), Scheme, ClaimTypes.Name, null));

    /// <summary>A page is sent to the sign-in (or denied) page; anything else (a form post, the circuit) gets the status.</summary>
    private static Task Refuse(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (HttpMethods.IsGet(context.Request.Method) && !context.Request.Path.StartsWithSegments("/_blazor"))
            context.Response.Redirect(context.RedirectUri);
        else
            context.Response.StatusCode = status;
        return Task.CompletedTask;
    }
}
