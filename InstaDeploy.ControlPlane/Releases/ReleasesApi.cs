using System.Security.Claims;
using InstaDeploy.Contracts;
using InstaDeploy.Contracts.Bundles;
using InstaDeploy.ControlPlane.Agents;
using InstaDeploy.ControlPlane.Audit;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.AspNetCore.Mvc;

namespace InstaDeploy.ControlPlane.Releases;

/// <summary>A kept bundle: an agent release for one architecture, or a plugin package.</summary>
/// <param name="Kind">agent or plugin.</param>
/// <param name="Name">InstaDeploy.Agent, or the plugin's name.</param>
/// <param name="Version">Its version.</param>
/// <param name="Architecture">linux-amd64, linux-arm64, or any (a plugin).</param>
/// <param name="Sha256">The file's SHA-256.</param>
/// <param name="SizeBytes">The file's size.</param>
/// <param name="KeyFingerprint">The public key its signature verified with.</param>
/// <param name="UploadedBy">Who uploaded it.</param>
/// <param name="UploadedAt">When.</param>
public sealed record BundleDto(string Kind, string Name, string Version, string Architecture, string Sha256, long SizeBytes, string KeyFingerprint, string UploadedBy, DateTimeOffset UploadedAt)
{
    public static BundleDto Of(BundleEntity b) => new(b.Kind, b.Name, b.Version, b.Architecture, b.Sha256, b.SizeBytes, b.KeyFingerprint, b.UploadedBy, b.UploadedAt);
}

/// <summary>Agent releases and plugin packages over REST: upload (admin), list, get, delete (admin); and the download
/// agents make with their own credentials.</summary>
public static class ReleasesApi
{
    /// <summary>The header an upload carries its signature in (the .sig file's text).</summary>
    public const string SignatureHeader = "X-Bundle-Signature";

    public static IEndpointRouteBuilder MapReleasesApi(this IEndpointRouteBuilder app)
    {
        var maxBytes = app.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<ControlPlaneOptions>>().Value.MaxBundleMegabytes * 1024L * 1024 + 1024 * 1024; // past the store's own bound, which answers first and says which setting

        var read = app.MapGroup("/agent-releases").WithTags("Agent releases").RequireAuthorization(ApiKeys.ApiKeyScopes.Read).RequireRateLimiting(RateLimits.PerKey);
        read.MapGet("/", (BundleStore store, CancellationToken token) => ListAsync(store, BundleManifest.KindAgent, null, token))
            .WithName("ListAgentReleases").Produces<BundleDto[]>().WithSummary("List agent releases, newest first (one row per version and architecture)");
        read.MapGet("/{version}", (string version, BundleStore store, CancellationToken token) => GetAsync(store, BundleManifest.KindAgent, AgentName, version, token))
            .WithName("GetAgentRelease").Produces<BundleDto[]>().WithSummary("Get one agent release: a row per architecture");

        var admin = app.MapGroup("/agent-releases").WithTags("Agent releases").RequireAuthorization(ApiKeys.ApiKeyScopes.Admin).RequireRateLimiting(RateLimits.PerKey);
        admin.MapPost("/", (HttpRequest request, BundleStore store, ClaimsPrincipal user, CancellationToken token) => UploadAsync(request, store, BundleManifest.KindAgent, user, token))
            .WithName("UploadAgentRelease")
            .Audited(AuditActions.AgentReleaseUpload)
            .WithRawRequestBody("application/octet-stream")
            .Produces<BundleDto>(201)
            .WithSummary("Upload a signed agent release")
            .WithDescription($"The body is the bundle file (eng/publish-agent-bundles.sh writes one per architecture), the {SignatureHeader} header its .sig file's text. The control plane checks the signature with INSTADEPLOY_RELEASE_PUBLIC_KEYS and the manifest inside, then keeps the file (owner-only). A version and architecture is uploaded once. Admin scope.")
            .WithMetadata(new RequestSizeLimitAttribute(maxBytes));
        admin.MapPost("/{version}/rollouts", (string version, BundleRolloutRequest request, BundleRollouts rollouts, ClaimsPrincipal user, CancellationToken token) =>
                StartRolloutAsync(rollouts, Rollouts.RolloutActions.AgentUpdate, AgentName, version, request, user, token))
            .WithName("RollOutAgentRelease")
            .Audited(AuditActions.AgentReleaseRollout)
            .Produces<Rollouts.RolloutDto>(201)
            .WithSummary("Update agents to this release, as a rollout")
            .WithDescription("Each target gets UPDATE_AGENT with the bundle for its architecture; its job ends COMPLETED once the new version has connected and passed its health check, or FAILED with the reason when the agent refused the bundle or its launcher went back to the previous version. max_parallel, canary, max_failures, on_failure (pause or continue) and pause/resume/cancel work as for any rollout (GET /rollouts/{id}). Admin scope.")
            .WithRequestExample(new { targets = new { selector = "role=web" }, strategy = new { max_parallel = "25%", canary = 1, max_failures = 1, on_failure = "pause" } });
        admin.MapDelete("/{version}", DeleteAgentAsync)
            .WithName("DeleteAgentRelease")
            .Audited(AuditActions.AgentReleaseDelete)
            .WithSummary("Delete an agent release (every architecture, or ?architecture=)");

        var pluginsRead = app.MapGroup("/plugin-packages").WithTags("Plugin packages").RequireAuthorization(ApiKeys.ApiKeyScopes.Read).RequireRateLimiting(RateLimits.PerKey);
        pluginsRead.MapGet("/", (string? name, BundleStore store, CancellationToken token) => ListAsync(store, BundleManifest.KindPlugin, name, token))
            .WithName("ListPluginPackages").Produces<BundleDto[]>().WithSummary("List plugin packages, newest first (?name= for one plugin)");
        pluginsRead.MapGet("/{name}/{version}", (string name, string version, BundleStore store, CancellationToken token) => GetAsync(store, BundleManifest.KindPlugin, name, version, token))
            .WithName("GetPluginPackage").Produces<BundleDto[]>().WithSummary("Get one plugin package");
        var pluginsAdmin = app.MapGroup("/plugin-packages").WithTags("Plugin packages").RequireAuthorization(ApiKeys.ApiKeyScopes.Admin).RequireRateLimiting(RateLimits.PerKey);
        pluginsAdmin.MapPost("/", (HttpRequest request, BundleStore store, ClaimsPrincipal user, CancellationToken token) => UploadAsync(request, store, BundleManifest.KindPlugin, user, token))
            .WithName("UploadPluginPackage")
            .Audited(AuditActions.PluginPackageUpload)
            .WithRawRequestBody("application/octet-stream")
            .Produces<BundleDto>(201)
            .WithSummary("Upload a signed plugin package")
            .WithDescription($"The body is the package (instadeploy-bundle-tool pack --kind plugin), the {SignatureHeader} header its signature; checked as an agent release is. Admin scope.")
            .WithMetadata(new RequestSizeLimitAttribute(maxBytes));
        pluginsAdmin.MapPost("/{name}/{version}/rollouts", (string name, string version, BundleRolloutRequest request, BundleRollouts rollouts, ClaimsPrincipal user, CancellationToken token) =>
                StartRolloutAsync(rollouts, Rollouts.RolloutActions.PluginInstall, name, version, request, user, token))
            .WithName("RollOutPluginPackage")
            .Audited(AuditActions.PluginPackageRollout)
            .Produces<Rollouts.RolloutDto>(201)
            .WithSummary("Install this plugin package on agents, as a rollout")
            .WithDescription("Each target gets INSTALL_PLUGIN; the agent checks the signature with its own AGENT_UPDATE_PUBLIC_KEY, puts the plugin into its plugins folder and loads it live. Admin scope.");
        pluginsAdmin.MapPost("/{name}/removals", (string name, BundleRolloutRequest request, BundleRollouts rollouts, ClaimsPrincipal user, CancellationToken token) =>
                StartRolloutAsync(rollouts, Rollouts.RolloutActions.PluginRemove, name, null, request, user, token))
            .WithName("RemovePluginFromAgents")
            .Audited(AuditActions.PluginPackageRollout)
            .Produces<Rollouts.RolloutDto>(201)
            .WithSummary("Remove a plugin from agents, as a rollout")
            .WithDescription("Each target gets REMOVE_PLUGIN: the plugin's folder goes, and it unloads once its running jobs end. Admin scope.");
        pluginsAdmin.MapDelete("/{name}/{version}", async (string name, string version, BundleStore store, ClaimsPrincipal user, CancellationToken token) =>
                await store.DeleteAsync(BundleManifest.KindPlugin, name, version, null, AuditActor.Of(user), token)
                    ? Results.NoContent()
                    : Problems.NotFound("Unknown plugin package", $"No plugin package {name} {version}. GET /plugin-packages lists them."))
            .WithName("DeletePluginPackage")
            .Audited(AuditActions.PluginPackageDelete)
            .WithSummary("Delete a plugin package (agents that installed it keep it)");

        // Agents download with their own credentials (the bearer they connect with, for the id they connect as).
        app.MapGet("/agents/releases/{version}/bundle", (string version, [FromQuery] string? architecture, HttpContext http, BundleStore store, AgentCredentials credentials) =>
                DownloadAsync(http, store, credentials, BundleManifest.KindAgent, AgentName, version, architecture))
            .WithTags("Agent releases").AllowAnonymous().WithName("DownloadAgentRelease")
            .WithSummary("Download an agent release (called by the agent, with its own credentials and X-Agent-Hostname)");
        app.MapGet("/agents/plugin-packages/{name}/{version}/package", (string name, string version, HttpContext http, BundleStore store, AgentCredentials credentials) =>
                DownloadAsync(http, store, credentials, BundleManifest.KindPlugin, name, version, BundleManifest.AnyArchitecture))
            .WithTags("Plugin packages").AllowAnonymous().WithName("DownloadPluginPackage")
            .WithSummary("Download a plugin package (called by the agent, with its own credentials and X-Agent-Hostname)");
        return app;
    }

    public const string AgentName = "InstaDeploy.Agent";

    private static async Task<IResult> UploadAsync(HttpRequest request, BundleStore store, string kind, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var actor = AuditActor.Of(user, request.HttpContext.Connection.RemoteIpAddress?.ToString());
        var (bundle, refusal) = await store.UploadAsync(kind, request.Body, request.Headers[SignatureHeader].ToString(), actor, cancellationToken);
        if (refusal is not null) return refusal.ToResult();
        var location = kind == BundleManifest.KindAgent ? $"/agent-releases/{bundle!.Version}" : $"/plugin-packages/{bundle!.Name}/{bundle.Version}";
        return TypedResults.Created(location, BundleDto.Of(bundle));
    }

    private static async Task<IResult> StartRolloutAsync(BundleRollouts rollouts, string action, string name, string? version, BundleRolloutRequest request, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var (rollout, refusal) = await rollouts.StartAsync(action, name, version, request, Deployments.Deployer.Of(user), AuditActor.Of(user), cancellationToken);
        return refusal is not null ? refusal.ToResult() : TypedResults.Created($"/rollouts/{rollout!.RolloutId}", rollout);
    }

    private static async Task<IResult> ListAsync(BundleStore store, string kind, string? name, CancellationToken cancellationToken) =>
        TypedResults.Ok((await store.ListAsync(kind, name, cancellationToken)).Select(BundleDto.Of).ToArray());

    private static async Task<IResult> GetAsync(BundleStore store, string kind, string name, string version, CancellationToken cancellationToken) =>
        await store.FindAsync(kind, name, version, cancellationToken) is { Count: > 0 } rows
            ? TypedResults.Ok(rows.Select(BundleDto.Of).ToArray())
            : Problems.NotFound(kind == BundleManifest.KindAgent ? "Unknown agent release" : "Unknown plugin package",
                $"No {(kind == BundleManifest.KindAgent ? "agent release" : $"plugin package {AgentLabels.Shown(name)}")} {AgentLabels.Shown(version)} was uploaded. GET {(kind == BundleManifest.KindAgent ? "/agent-releases" : "/plugin-packages")} lists them.");

    private static async Task<IResult> DeleteAgentAsync(string version, [FromQuery] string? architecture, BundleStore store, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        await store.DeleteAsync(BundleManifest.KindAgent, AgentName, version, architecture, AuditActor.Of(user), cancellationToken)
            ? Results.NoContent()
            : Problems.NotFound("Unknown agent release", $"No agent release {AgentLabels.Shown(version)}{(architecture is null ? "" : $" for {AgentLabels.Shown(architecture)}")}. GET /agent-releases lists them.");

    private static async Task<IResult> DownloadAsync(HttpContext http, BundleStore store, AgentCredentials credentials, string kind, string name, string version, string? architecture)
    {
        var agentId = http.Request.Headers[HandshakeHeaders.AgentHostname].ToString();
        var authentication = AgentIds.IsValid(agentId)
            ? await credentials.AuthenticateAsync(http.Request.Headers.Authorization, agentId, http.RequestAborted)
            : AgentAuthentication.Refused("missing or invalid X-Agent-Hostname");
        if (authentication.Refusal is not null)
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: "Agents download with the credentials they connect with: 'Authorization: Bearer <agent key or shared token>' and X-Agent-Hostname.");
        var bundle = (await store.FindAsync(kind, name, version, http.RequestAborted)).FirstOrDefault(b => b.Architecture == architecture);
        if (bundle is null || store.Open(bundle) is not { } file)
            return Problems.NotFound("Unknown bundle", $"No {(kind == BundleManifest.KindAgent ? $"agent release {AgentLabels.Shown(version)} for {AgentLabels.Shown(architecture ?? "")}" : $"plugin package {AgentLabels.Shown(name)} {AgentLabels.Shown(version)}")} is kept here.");
        return TypedResults.File(file, "application/gzip", $"{name}-{version}-{bundle.Architecture}.tar.gz");
    }
}
