using System.Security.Claims;
using System.Text.Json;
using InstaDeploy.ControlPlane.Agents;
using InstaDeploy.ControlPlane.Audit;
using InstaDeploy.ControlPlane.Deployments;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Rollouts;

namespace InstaDeploy.ControlPlane.Webhooks;

/// <summary>Create a webhook.</summary>
/// <param name="Name">What it is for, e.g. "github shop main".</param>
/// <param name="ProjectName">The project it deploys.</param>
/// <param name="Mode">redeploy (default: the project's current compose file again, on each agent it runs on, or agent_id) or rollout (to selector, with strategy).</param>
/// <param name="AgentId">redeploy: only on this agent.</param>
/// <param name="Selector">rollout: the targets.</param>
/// <param name="Strategy">rollout: as for POST /rollouts.</param>
/// <param name="Branch">Only pushes to this branch deploy (GitHub's ref refs/heads/&lt;branch&gt;); any call when left out.</param>
/// <param name="Pull">Pull the images before up (default true: a push usually means a new image behind the same tag).</param>
public sealed record CreateWebhookRequest(string? Name, string? ProjectName, string? Mode = null, string? AgentId = null, string? Selector = null,
    RolloutStrategyRequest? Strategy = null, string? Branch = null, bool? Pull = null);

/// <summary>A webhook as listed: never its secret.</summary>
public sealed record WebhookDto(string Id, string Name, string ProjectName, string Mode, string? AgentId, string? Selector, string? Branch, bool Pull,
    string Url, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? LastDeliveryAt);

/// <summary>A webhook just created (or its secret rotated), with its secret: shown this once.</summary>
/// <param name="Webhook">The webhook.</param>
/// <param name="Secret">Give it to GitHub as the webhook's secret (content type application/json). It cannot be shown again.</param>
public sealed record CreatedWebhookDto(WebhookDto Webhook, string Secret);

/// <summary>Push-to-deploy: webhooks per project (deploy scope), and the URL GitHub calls (no API key; its signature).</summary>
public static partial class WebhooksApi
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var webhooks = app.MapGroup("/webhooks").WithTags("Webhooks").RequireAuthorization(ApiKeys.ApiKeyScopes.Deploy).RequireRateLimiting(RateLimits.PerKey);
        webhooks.MapPost("/", CreateAsync)
            .WithName("CreateWebhook")
            .Audited(AuditActions.WebhookCreate)
            .WithRequestExample(new { name = "github shop", project_name = "shop", branch = "main" })
            .WithSummary("Create a project's webhook")
            .WithDescription("A URL (POST /hooks/{webhook_id}) with its own secret, shown once: a call whose X-Hub-Signature-256 is the HMAC-SHA256 of its raw body under that secret, with a delivery id (X-GitHub-Delivery) not seen before, redeploys the project (pulling its images) or starts a rollout. The deploys are made in the name of the key that created the webhook, and held to the deploy policy when that key has no host access.");
        webhooks.MapGet("/", ListAsync)
            .WithName("ListWebhooks")
            .WithSummary("List webhooks")
            .WithDescription("Every webhook (project_name filters) with its URL and last delivery; never its secret. Oldest first; limit defaults to 1000 (max 1000); a full page answers the next one's cursor in X-Next-Cursor and a Link header (rel=\"next\"): pass it as cursor.");
        webhooks.MapPost("/{webhookId}/rotate-secret", RotateAsync)
            .WithName("RotateWebhookSecret")
            .Audited(AuditActions.WebhookRotate)
            .WithSummary("Give a webhook a new secret")
            .WithDescription("The old secret stops working at once; the new one is in the answer, shown once.");
        webhooks.MapDelete("/{webhookId}", DeleteAsync)
            .WithName("DeleteWebhook")
            .Audited(AuditActions.WebhookDelete)
            .WithSummary("Delete a webhook")
            .WithDescription("Its URL answers 401 from then on.");

        app.MapPost("/hooks/{webhookId}", ReceiveAsync)
            .WithTags("Webhooks")
            .AllowAnonymous()
            .WithName("CallWebhook")
            .WithSummary("A webhook's URL (called by GitHub)")
            .WithDescription("Needs X-Hub-Signature-256 (sha256=HMAC-SHA256 of the raw body under the webhook's secret) and a fresh X-GitHub-Delivery. 202 with what it started, 200 for a ping or a push to another branch, 401 with no detail for anything else (a wrong or missing signature, a replay, an unknown webhook).")
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(WebhookReceiver.MaxBodyBytes));
        return app;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}\z", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex BranchRule();

    private static async Task<IResult> CreateAsync(CreateWebhookRequest request, WebhookStore store, HttpContext context, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 100 || request.Name.Any(char.IsControl))
            return Problems.Invalid("name", "is required: 1-100 printable characters saying what the webhook is for");
        if (DeploymentsApi.ValidateProject(request.ProjectName) is { } invalidProject) return invalidProject;
        var mode = request.Mode ?? WebhookModes.Redeploy;
        if (mode is not (WebhookModes.Redeploy or WebhookModes.Rollout)) return Problems.Invalid("mode", "must be redeploy or rollout");
        if (mode == WebhookModes.Rollout)
        {
            if (request.AgentId is not null) return Problems.Invalid("agent_id", "is for mode redeploy; a rollout's targets are its selector");
            if (request.Selector is null) return Problems.Invalid("selector", "is required with mode rollout: the agents the rollout deploys to");
            if (LabelSelector.Parse(request.Selector).Error is { } error) return Problems.Invalid("selector", error);
        }
        else if (request.Selector is not null || request.Strategy is not null)
            return Problems.Invalid(request.Selector is not null ? "selector" : "strategy", "is for mode rollout");
        if (request.Branch is not null && !BranchRule().IsMatch(request.Branch)) return Problems.Invalid("branch", "must be a branch name such as main or release/2.x");
        var spec = new WebhookSpec(request.Name.Trim(), request.ProjectName!, mode, request.AgentId, request.Selector,
            request.Strategy is null ? null : JsonSerializer.Serialize(request.Strategy, Json), request.Branch, request.Pull ?? true);
        var (webhook, secret) = await store.CreateAsync(spec, AuditActor.Of(user), ApiKeys.ApiKeyScopes.IsRestricted(user), cancellationToken);
        return TypedResults.Created($"/webhooks/{webhook.Id}", new CreatedWebhookDto(ToDto(webhook, context), secret));
    }

    public const string CursorList = "webhooks";
    public const int DefaultLimit = 1000;
    public const int MaxLimit = 1000;

    private static async Task<IResult> ListAsync([Microsoft.AspNetCore.Mvc.FromQuery(Name = "project_name")] string? projectName,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "limit")] int? limit, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "cursor")] string? cursor,
        WebhookStore store, HttpContext context, CancellationToken cancellationToken)
    {
        var (take, after, refusal) = PageCursor.Read(CursorList, 2, limit, cursor, DefaultLimit, MaxLimit);
        if (refusal is not null) return Problems.Invalid(refusal.Field!, refusal.Detail);
        var page = await store.ListPageAsync(projectName, take, after, cancellationToken);
        PageCursor.SetNextIfFull(context, page, take, w => PageCursor.Encode(CursorList, PageCursor.Key(w.CreatedAt), w.Id));
        return TypedResults.Ok(page.Select(w => ToDto(w, context)).ToArray());
    }

    private static async Task<IResult> RotateAsync(string webhookId, WebhookStore store, HttpContext context, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await store.RotateSecretAsync(webhookId, AuditActor.Of(user), cancellationToken) is not { } secret) return Unknown(webhookId);
        var webhook = (await store.ListAsync(null, cancellationToken)).First(w => w.Id == webhookId);
        return TypedResults.Ok(new CreatedWebhookDto(ToDto(webhook, context), secret));
    }

    private static async Task<IResult> DeleteAsync(string webhookId, WebhookStore store, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        await store.DeleteAsync(webhookId, AuditActor.Of(user), cancellationToken) ? TypedResults.NoContent() : Unknown(webhookId);

    private static async Task<IResult> ReceiveAsync(string webhookId, HttpContext context, WebhookReceiver receiver, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, cancellationToken);
        var headers = context.Request.Headers;
        var outcome = await receiver.ReceiveAsync(new WebhookCall(webhookId, body.ToArray(), headers[WebhookSignature.Header].FirstOrDefault(),
            headers["X-GitHub-Delivery"].FirstOrDefault(), headers["X-GitHub-Event"].FirstOrDefault(), context.Connection.RemoteIpAddress?.ToString()), cancellationToken);
        return outcome switch
        {
            { Status: 401 } => TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized"),
            { Refusal: { } refusal } => refusal.ToResult(),
            { Ignored: { } why } => TypedResults.Ok(new { ignored = why }),
            _ => TypedResults.Json(new { job_ids = outcome.JobIds, rollout_id = outcome.RolloutId }, Json, statusCode: StatusCodes.Status202Accepted),
        };
    }

    private static ProblemHttpResult Unknown(string webhookId) => Problems.NotFound("Unknown webhook", $"No webhook '{webhookId}'. GET /webhooks lists them.");

    private static WebhookDto ToDto(WebhookEntity w, HttpContext context) => new(w.Id, w.Name, w.ProjectName, w.Mode, w.AgentId, w.Selector, w.Branch, w.Pull,
        $"{context.Request.Scheme}://{context.Request.Host}/hooks/{w.Id}", w.CreatedAt, w.CreatedBy, w.LastDeliveryAt);
}

public static class WebhooksExtensions
{
    public static IServiceCollection AddWebhooks(this IServiceCollection services)
    {
        services.AddSingleton<WebhookStore>();
        services.AddSingleton<WebhookReceiver>();
        return services;
    }
}
