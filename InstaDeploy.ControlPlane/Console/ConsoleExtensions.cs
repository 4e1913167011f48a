using InstaDeploy.ControlPlane.WebConsole.Auth;
using InstaDeploy.ControlPlane.WebConsole.Components;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.WebConsole;

/// <summary>
/// The web console: Razor components rendered on the server (interactive over Blazor's circuit where a page is live),
/// served by the control plane at / and /ui/..., with its own cookie session. Every page reads and acts through the same
/// domain services as the REST API; no route of the API changes.
/// </summary>
public static class ConsoleExtensions
{
    public static WebApplicationBuilder AddConsole(this WebApplicationBuilder builder)
    {
        // The stylesheet, script and Blazor's own script are static web assets: from a build's output (tests, the
        // AppHost) they are found through its manifest, from a publish in wwwroot; without this only the latter works.
        builder.WebHost.UseStaticWebAssets();
        var services = builder.Services;
        services.AddOptions<ConsoleOptions>().Bind(builder.Configuration).ValidateDataAnnotations().ValidateOnStart();
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
        services.AddAuthentication().AddConsoleCookie();
        // After AddControlPlane: the cookie on the console's paths, the Bearer key on the API's (ConsoleAuthentication).
        services.Configure<AuthenticationOptions>(options => options.DefaultScheme = ConsoleAuthentication.Selector);
        services.AddOptions<CookieAuthenticationOptions>(ConsoleAuthentication.Scheme)
            .Configure<IOptions<ConsoleOptions>>((cookie, console) => cookie.ExpireTimeSpan = TimeSpan.FromMinutes(console.Value.SessionMinutes));
        services.AddAuthorizationBuilder().AddConsolePolicies();
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = "instadeploy_antiforgery";
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.HttpOnly = true;
        });
        services.AddSingleton<SignInThrottle>();
        services.AddScoped<ConsoleSession>();
        return builder;
    }

    /// <summary>Serves the console's pages, its static assets and the circuit; does nothing with INSTADEPLOY_CONSOLE=false.</summary>
    public static WebApplication MapConsole(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<ConsoleOptions>>().Value.Enabled) return app;
        app.Use(ConsoleHeaders.AddAsync);
        app.MapStaticAssets();
        app.MapRazorComponents<App>()
            .AddInteractiveServerRenderMode()
            .RequireAuthorization(ConsolePolicies.Read);
        app.MapPost(ConsoleAuthentication.SignOutPath, SignOutAsync).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/ui/jobs/{jobId}/output.txt", DownloadOutputAsync).RequireAuthorization(ConsolePolicies.Read).ExcludeFromDescription();
        return app;
    }

    /// <summary>A job's whole output as a file (what GET /jobs/{id}/logs answers, for a console session).</summary>
    private static async Task<IResult> DownloadOutputAsync(string jobId, Jobs.Output.JobOutputFollower output, CancellationToken cancellationToken) =>
        await output.ReadAsync(jobId, cancellationToken) is { } read
            ? TypedResults.File(System.Text.Encoding.UTF8.GetBytes(read.Text), "text/plain; charset=utf-8", $"{jobId}.txt")
            : TypedResults.NotFound();

    /// <summary>Ends the session; a form post, so it carries (and is checked for) an antiforgery token.</summary>
    private static async Task<IResult> SignOutAsync(HttpContext context, IAntiforgery antiforgery)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The form is not valid",
                detail: "The sign-out form's antiforgery token is missing or wrong; reload the page and sign out again.");
        await context.SignOutAsync(ConsoleAuthentication.Scheme);
        return TypedResults.Redirect(ConsoleAuthentication.SignInPath);
    }
}

/// <summary>Headers on every console page: no framing (a click-through cannot press a deploy button), no sniffing, no
/// script or connection but the control plane's own, no referrer to other sites. (Antiforgery marks the pages no-store.)</summary>
internal static class ConsoleHeaders
{
    private const string Policy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
        "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'";

    public static Task AddAsync(HttpContext context, Func<Task> next)
    {
        if (ConsoleAuthentication.IsConsolePath(context.Request.Path))
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = Policy;
            headers.XFrameOptions = "DENY";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "same-origin";
        }
        return next();
    }
}
