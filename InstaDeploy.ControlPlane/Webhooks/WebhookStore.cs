using InstaDeploy.ControlPlane.Audit;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Webhooks;

/// <summary>A new webhook's settings, as checked by the API.</summary>
public sealed record WebhookSpec(string Name, string ProjectName, string Mode, string? AgentId, string? Selector, string? StrategyJson, string? Branch, bool Pull);

/// <summary>Webhooks and their secrets (256 random bits, shown once, stored encrypted: the HMAC check needs the secret itself).</summary>
public sealed class WebhookStore(IDbContextFactory<InstaDeployDbContext> databases, IDataProtectionProvider protection, AuditLog audit, TimeProvider time)
{
    public const string SecretPrefix = "whs_";
    private readonly IDataProtector _secrets = protection.CreateProtector("InstaDeploy.Webhooks.Secret.v1");

    public string SecretOf(WebhookEntity webhook) => _secrets.Unprotect(webhook.SecretProtected);

    public async Task<(WebhookEntity Webhook, string Secret)> CreateAsync(WebhookSpec spec, AuditActor creator, bool restricted, CancellationToken cancellationToken)
    {
        var secret = Secrets.New(SecretPrefix);
        var webhook = new WebhookEntity
        {
            Id = Secrets.NewId("whk_"),
            Name = spec.Name,
            ProjectName = spec.ProjectName,
            Mode = spec.Mode,
            AgentId = spec.AgentId,
            Selector = spec.Selector,
            StrategyJson = spec.StrategyJson,
            Branch = spec.Branch,
            Pull = spec.Pull,
            SecretProtected = _secrets.Protect(secret),
            CreatedAt = time.GetUtcNow(),
            CreatedBy = creator.Name,
            CreatedByKeyId = creator.Id,
            CreatedByRestricted = restricted,
        };
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        db.Webhooks.Add(webhook);
        audit.Add(db, creator, AuditActions.WebhookCreate, $"project:{spec.ProjectName} webhook:{webhook.Id}", AuditOutcomes.Succeeded, 201, "",
            new { spec.Name, project_name = spec.ProjectName, spec.Mode, agent_id = spec.AgentId, spec.Selector, spec.Branch, spec.Pull, secret = "********" });
        await db.SaveChangesAsync(cancellationToken);
        return (webhook, secret);
    }

    public async Task<string?> RotateSecretAsync(string id, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var webhook = await db.Webhooks.FindAsync([id], cancellationToken);
        if (webhook is null) return null;
        var secret = Secrets.New(SecretPrefix);
        webhook.SecretProtected = _secrets.Protect(secret);
        audit.Add(db, actor, AuditActions.WebhookRotate, $"project:{webhook.ProjectName} webhook:{id}", AuditOutcomes.Succeeded, 200, "", new { secret = "********" });
        await db.SaveChangesAsync(cancellationToken);
        return secret;
    }

    public async Task<List<WebhookEntity>> ListAsync(string? projectName, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Webhooks.AsNoTracking();
        if (projectName is not null) query = query.Where(w => w.ProjectName == projectName);
        return await query.OrderBy(w => w.CreatedAt).ThenBy(w => w.Id).ToListAsync(cancellationToken);
    }

    /// <summary>One page of webhooks (of one project, when given) oldest first, after the position <paramref name="after"/>
    /// (created at, id), through the (CreatedAt, Id) or (ProjectName, CreatedAt, Id) index.</summary>
    public async Task<List<WebhookEntity>> ListPageAsync(string? projectName, int limit, string[]? after, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Webhooks.AsNoTracking();
        if (projectName is not null) query = query.Where(w => w.ProjectName == projectName);
        if (after is not null)
        {
            var (at, id) = (Infrastructure.PageCursor.Time(after[0]), after[1]);
#pragma warning disable CA1309 // EF Core translates this overload to the database's comparison; the ordinal one has no translation
            query = query.Where(w => w.CreatedAt > at || (w.CreatedAt == at && string.Compare(w.Id, id) > 0));
#pragma warning restore CA1309
        }
        return await query.OrderBy(w => w.CreatedAt).ThenBy(w => w.Id).Take(limit).ToListAsync(cancellationToken);
    }

    public async Task<bool> DeleteAsync(string id, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var webhook = await db.Webhooks.FindAsync([id], cancellationToken);
        if (webhook is null) return false;
        db.Webhooks.Remove(webhook);
        await db.WebhookDeliveries.Where(d => d.WebhookId == id).ExecuteDeleteAsync(cancellationToken);
        audit.Add(db, actor, AuditActions.WebhookDelete, $"project:{webhook.ProjectName} webhook:{id}", AuditOutcomes.Succeeded, 204, "", new { webhook.Name });
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }
}
