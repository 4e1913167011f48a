using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using InstaDeploy.ControlPlane.Audit;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Deployments;
using InstaDeploy.ControlPlane.Jobs.Submission;
using InstaDeploy.ControlPlane.Rollouts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Webhooks;

/// <summary>One call of a webhook URL, as it arrived.</summary>
/// <param name="WebhookId">The id in the URL.</param>
/// <param name="Body">The raw body, as signed.</param>
/// <param name="Signature">X-Hub-Signature-256.</param>
/// <param name="DeliveryId">X-GitHub-Delivery.</param>
/// <param name="Event">X-GitHub-Event (ping, push…); null from a caller that is not GitHub.</param>
/// <param name="Address">The caller's address.</param>
public sealed record WebhookCall(string WebhookId, byte[] Body, string? Signature, string? DeliveryId, string? Event, string? Address);

/// <summary>What came of a call: refused (401, with nothing said to the caller), ignored (200, why), or what it started.</summary>
public sealed record WebhookOutcome(int Status, string? Ignored = null, string[]? JobIds = null, string? RolloutId = null, CommandRefusal? Refusal = null);

/// <summary>
/// Checks a webhook call and acts on it: the signature over the raw body (HMAC-SHA256 under the webhook's secret, in
/// constant time), then replays (a delivery id or a body accepted within INSTADEPLOY_WEBHOOK_REPLAY_WINDOW_HOURS, or a
/// push older than it, is refused), then the event (ping answers, a push to another branch is ignored), then the deploy:
/// the project's current compose file again on each agent it runs on (or the webhook's agent), or a rollout. Every call of
/// a known webhook is audited with the caller's address; the caller of a refused one learns nothing but 401.
/// </summary>
public sealed class WebhookReceiver(
    IDbContextFactory<InstaDeployDbContext> databases, WebhookStore webhooks, DeployService deploys, RolloutPlanner planner, RolloutStore rollouts,
    RolloutEngine engine, AuditLog audit, IOptions<ControlPlaneOptions> options, TimeProvider time)
{
    public const int MaxBodyBytes = 1024 * 1024;

    public async Task<WebhookOutcome> ReceiveAsync(WebhookCall call, CancellationToken cancellationToken)
    {
        WebhookEntity? webhook;
        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
            webhook = await db.Webhooks.AsNoTracking().FirstOrDefaultAsync(w => w.Id == call.WebhookId, cancellationToken);
        if (webhook is null) return new WebhookOutcome(401); // unknown ids are not audited: anyone can invent one
        var actor = AuditActor.Webhook(webhook.Id, webhook.Name, call.Address);
        var target = $"project:{webhook.ProjectName} webhook:{webhook.Id}";
        var summary = new { delivery_id = Printable(call.DeliveryId), @event = Printable(call.Event), body_bytes = call.Body.Length };

        async Task<WebhookOutcome> RefuseAsync(string why)
        {
            await audit.RecordAsync(actor, AuditActions.WebhookDeliver, target, AuditOutcomes.Refused, 401, why, summary);
            return new WebhookOutcome(401);
        }

        if (!WebhookSignature.IsValid(webhooks.SecretOf(webhook), call.Body, call.Signature))
            return await RefuseAsync(call.Signature is null ? "no X-Hub-Signature-256" : "X-Hub-Signature-256 is not the signature of the body under this webhook's secret");
        if (call.DeliveryId is not { Length: > 0 and <= 100 } deliveryId || deliveryId.Any(char.IsControl))
            return await RefuseAsync("no X-GitHub-Delivery (each call needs a unique delivery id, so a replay can be told apart)");
        if (await IsStalePushAsync(call) is { } stale) return await RefuseAsync(stale);
        if (!await RememberAsync(webhook.Id, deliveryId, call.Body, cancellationToken))
            return await RefuseAsync("replayed: this delivery id, or this very body, was accepted within INSTADEPLOY_WEBHOOK_REPLAY_WINDOW_HOURS");

        if (call.Event == "ping")
        {
            await audit.RecordAsync(actor, AuditActions.WebhookDeliver, target, AuditOutcomes.Succeeded, 200, "ping", summary);
            return new WebhookOutcome(200, Ignored: "ping: the webhook works; a push redeploys the project");
        }
        if (webhook.Branch is { } branch && Ref(call.Body) is var pushed && pushed != $"refs/heads/{branch}")
        {
            await audit.RecordAsync(actor, AuditActions.WebhookDeliver, target, AuditOutcomes.Succeeded, 200, $"ignored: a push to {pushed ?? "no ref"}, not refs/heads/{branch}", summary);
            return new WebhookOutcome(200, Ignored: $"only pushes to refs/heads/{branch} deploy");
        }

        var deployer = new Deployer($"webhook {webhook.Name} ({webhook.CreatedBy})", webhook.CreatedByRestricted, actor);
        var outcome = webhook.Mode == WebhookModes.Rollout
            ? await StartRolloutAsync(webhook, deployer, actor, cancellationToken)
            : await RedeployAsync(webhook, deployer, cancellationToken);
        await audit.RecordAsync(actor, AuditActions.WebhookDeliver, target, outcome.Refusal is null ? AuditOutcomes.Succeeded : AuditOutcomes.Refused, outcome.Status,
            outcome.Refusal is { } refused ? AuditLog.DetailOf(refused) : outcome.RolloutId is { } id ? $"rollout {id}" : $"jobs {string.Join(", ", outcome.JobIds ?? [])}", summary);
        return outcome;
    }

    /// <summary>The project's compose file running on each agent it is placed on (or the webhook's agent), deployed again.</summary>
    private async Task<WebhookOutcome> RedeployAsync(WebhookEntity webhook, Deployer deployer, CancellationToken cancellationToken)
    {
        List<(string AgentId, string Yaml)> placements;
        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
        {
            var placed = await db.Deployments.AsNoTracking().Where(d => d.ProjectName == webhook.ProjectName && (webhook.AgentId == null || d.AgentId == webhook.AgentId))
                .OrderBy(d => d.AgentId).Take(100).ToListAsync(cancellationToken);
            placements = [];
            foreach (var placement in placed)
            {
                var revisions = db.Revisions.AsNoTracking().Where(r => r.ProjectName == webhook.ProjectName && r.AgentId == placement.AgentId);
                var current = await revisions.Where(r => r.Number == placement.CurrentRevision).Select(r => r.ComposeYaml).FirstOrDefaultAsync(cancellationToken)
                    ?? await revisions.OrderByDescending(r => r.Number).Select(r => r.ComposeYaml).FirstOrDefaultAsync(cancellationToken);
                if (current is not null) placements.Add((placement.AgentId, current));
            }
        }
        if (placements.Count == 0)
            return new WebhookOutcome(409, Refusal: CommandRefusal.Conflict("Nothing to redeploy",
                $"Project '{webhook.ProjectName}' was never deployed{(webhook.AgentId is null ? "" : $" on agent '{webhook.AgentId}'")}; deploy it once (POST /deploy), then pushes redeploy it."));
        var jobs = new List<string>();
        CommandRefusal? firstRefusal = null;
        foreach (var (agentId, yaml) in placements)
        {
            var submission = await deploys.DeployAsync(new DeploySpec(webhook.ProjectName, Convert.ToBase64String(Encoding.UTF8.GetBytes(yaml)), agentId, Pull: webhook.Pull), deployer, cancellationToken);
            if (submission.Job is { } job) jobs.Add(job.Id);
            else firstRefusal ??= submission.Refusal;
        }
        return jobs.Count > 0 ? new WebhookOutcome(202, JobIds: [.. jobs]) : new WebhookOutcome(AuditLog.StatusOf(firstRefusal!), Refusal: firstRefusal);
    }

    /// <summary>A rollout of the project's newest successful compose file to the webhook's selector, with its strategy.</summary>
    private async Task<WebhookOutcome> StartRolloutAsync(WebhookEntity webhook, Deployer deployer, AuditActor actor, CancellationToken cancellationToken)
    {
        string? yaml;
        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
        {
            var revisions = db.Revisions.AsNoTracking().Where(r => r.ProjectName == webhook.ProjectName).OrderByDescending(r => r.Id);
            yaml = await revisions.Where(r => r.Outcome == RevisionOutcomes.Succeeded).Select(r => r.ComposeYaml).FirstOrDefaultAsync(cancellationToken)
                ?? await revisions.Select(r => r.ComposeYaml).FirstOrDefaultAsync(cancellationToken);
        }
        if (yaml is null)
            return new WebhookOutcome(409, Refusal: CommandRefusal.Conflict("Nothing to roll out", $"Project '{webhook.ProjectName}' was never deployed; deploy it once, then pushes roll it out."));
        var strategy = webhook.StrategyJson is null ? null : JsonSerializer.Deserialize<RolloutStrategyRequest>(webhook.StrategyJson, WebhooksApi.Json);
        var (plan, problem) = await planner.PlanAsync(new RolloutRequest(webhook.ProjectName, Convert.ToBase64String(Encoding.UTF8.GetBytes(yaml)),
            new RolloutTargetsRequest(Selector: webhook.Selector), strategy), deployer, cancellationToken);
        if (problem is not null) return new WebhookOutcome(AuditLog.StatusOf(problem), Refusal: problem);
        await rollouts.CreateAsync(plan!.Rollout, plan.Targets, actor, cancellationToken);
        engine.Wake(plan.Rollout.Id, plan.Rollout.ProjectName);
        return new WebhookOutcome(202, RolloutId: plan.Rollout.Id);
    }

    /// <summary>Remembers an accepted delivery (forgetting the webhook's ones past the window); false when this delivery
    /// id or this body is remembered already.</summary>
    private async Task<bool> RememberAsync(string webhookId, string deliveryId, byte[] body, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var since = now - TimeSpan.FromHours(options.Value.WebhookReplayWindowHours);
        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(body));
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await db.WebhookDeliveries.Where(d => d.WebhookId == webhookId && d.ReceivedAt < since).ExecuteDeleteAsync(cancellationToken);
        db.WebhookDeliveries.Add(new WebhookDeliveryEntity { WebhookId = webhookId, DeliveryId = deliveryId, BodySha256 = bodyHash, ReceivedAt = now });
        try
        {
            await db.SaveChangesAsync(cancellationToken); // the keys are unique: of two calls at once, one wins
            await db.Webhooks.Where(w => w.Id == webhookId).ExecuteUpdateAsync(s => s.SetProperty(w => w.LastDeliveryAt, now), cancellationToken);
            return true;
        }
        catch (DbUpdateException e) when (e.InnerException is { } cause && Data.Database.IsDuplicateKey(cause)) // on either store
        {
            return false;
        }
    }

    /// <summary>Why a push is too old to act on (GitHub's repository.pushed_at, Unix seconds), or null.</summary>
    private Task<string?> IsStalePushAsync(WebhookCall call)
    {
        if (call.Event != "push") return Task.FromResult<string?>(null);
        try
        {
            using var document = JsonDocument.Parse(call.Body, new JsonDocumentOptions { MaxDepth = 64 });
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("repository", out var repository)
                && repository.ValueKind == JsonValueKind.Object && repository.TryGetProperty("pushed_at", out var pushedAt) && pushedAt.TryGetInt64(out var seconds)
                && DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, 0, 253402300799)) < time.GetUtcNow() - TimeSpan.FromHours(options.Value.WebhookReplayWindowHours))
                return Task.FromResult<string?>($"a push from {DateTimeOffset.FromUnixTimeSeconds(seconds):u}, older than INSTADEPLOY_WEBHOOK_REPLAY_WINDOW_HOURS: a replay");
        }
        catch (JsonException)
        {
        }
        return Task.FromResult<string?>(null);
    }

    /// <summary>The pushed ref (<c>refs/heads/main</c>) of a push body, or null.</summary>
    private static string? Ref(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("ref", out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Printable(string? text) => text is null ? null : new string([.. text.Take(100).Select(c => char.IsControl(c) ? '?' : c)]);
}

public static class WebhookModes
{
    public const string Redeploy = "redeploy";
    public const string Rollout = "rollout";
}
