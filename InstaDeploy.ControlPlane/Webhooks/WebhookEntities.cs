namespace InstaDeploy.ControlPlane.Webhooks;

/// <summary>
/// A project's push-to-deploy URL (<c>POST /hooks/{id}</c>) with its own secret: a call whose <c>X-Hub-Signature-256</c>
/// is the HMAC-SHA256 of its body under that secret redeploys the project (or starts a rollout). The secret is stored
/// encrypted (HMAC needs it, not a hash of it).
/// </summary>
public sealed class WebhookEntity
{
    public required string Id { get; set; }
    public required string Name { get; set; }
    public required string ProjectName { get; set; }

    /// <summary><c>redeploy</c> (the project's current compose file again, on the agent it runs on) or <c>rollout</c>.</summary>
    public required string Mode { get; set; }

    /// <summary>For a redeploy: the agent, when the project is placed on several.</summary>
    public string? AgentId { get; set; }

    /// <summary>For a rollout: the targets (a selector) and the strategy, as the rollout request's JSON.</summary>
    public string? Selector { get; set; }
    public string? StrategyJson { get; set; }

    /// <summary>Only pushes to this branch (<c>refs/heads/&lt;branch&gt;</c>) deploy; null for any call.</summary>
    public string? Branch { get; set; }

    /// <summary>Whether the agent pulls the images before <c>up</c> (a new image behind the same tag).</summary>
    public bool Pull { get; set; }

    /// <summary>The HMAC secret, encrypted with Data Protection.</summary>
    public required string SecretProtected { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The API key that created it: its deploys are made in its name, and held to the deploy policy when that
    /// key had no host access.</summary>
    public required string CreatedBy { get; set; }
    public string? CreatedByKeyId { get; set; }
    public bool CreatedByRestricted { get; set; }

    public DateTimeOffset? LastDeliveryAt { get; set; }
}

/// <summary>A delivery a webhook accepted, remembered for the replay window: the same delivery id, or the same body,
/// is refused while it is remembered.</summary>
public sealed class WebhookDeliveryEntity
{
    public required string WebhookId { get; set; }

    /// <summary>GitHub's <c>X-GitHub-Delivery</c>.</summary>
    public required string DeliveryId { get; set; }

    /// <summary>SHA-256 (hex) of the body: a captured body sent again under another delivery id is refused too.</summary>
    public required string BodySha256 { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
}
