namespace InstaDeploy.ControlPlane.Audit;

/// <summary>Who an audit entry's actor is.</summary>
public static class AuditActorKinds
{
    /// <summary>A REST call (or a console action) made with an API key.</summary>
    public const string ApiKey = "api_key";

    /// <summary>A webhook call, authenticated by its signature.</summary>
    public const string Webhook = "webhook";

    /// <summary>The control plane itself (start-up, retention).</summary>
    public const string System = "system";

    /// <summary>A caller that could not be identified.</summary>
    public const string Anonymous = "anonymous";
}

/// <summary>What came of an audited call.</summary>
public static class AuditOutcomes
{
    /// <summary>It was done (or, for a command, its job was created and is on its way).</summary>
    public const string Succeeded = "succeeded";

    /// <summary>It was refused before anything changed (invalid, not found, conflict, limit, bad signature).</summary>
    public const string Refused = "refused";

    /// <summary>It failed after it was accepted (the storage, say).</summary>
    public const string Failed = "failed";
}

/// <summary>The actions the audit log records.</summary>
public static class AuditActions
{
    public const string Deploy = "deploy";
    public const string Rollback = "rollback";
    public const string Stop = "stop";
    public const string Command = "agent.command";
    public const string RolloutCreate = "rollout.create";
    public const string RolloutSteer = "rollout."; // + pause, resume, promote, cancel
    public const string VariableSet = "variable.set";
    public const string VariableDelete = "variable.delete";
    public const string ApiKeyCreate = "api_key.create";
    public const string ApiKeyRevoke = "api_key.revoke";
    public const string EnrollmentTokenCreate = "enrollment_token.create";
    public const string EnrollmentTokenRevoke = "enrollment_token.revoke";
    public const string AgentRevoke = "agent.revoke";
    public const string AgentRestore = "agent.restore";
    public const string AgentLabelsSet = "agent.labels.set";
    public const string AgentLabelsClear = "agent.labels.clear";
    public const string RegistrySet = "registry.set";
    public const string RegistryDelete = "registry.delete";
    public const string RegistryTest = "registry.test";
    public const string WebhookCreate = "webhook.create";
    public const string WebhookDelete = "webhook.delete";
    public const string WebhookRotate = "webhook.rotate_secret";
    public const string WebhookDeliver = "webhook.deliver";
    public const string Backup = "backup.download";
    public const string AgentReleaseUpload = "agent_release.upload";
    public const string AgentReleaseDelete = "agent_release.delete";
    public const string AgentReleaseRollout = "agent_release.rollout";
    public const string PluginPackageUpload = "plugin_package.upload";
    public const string PluginPackageDelete = "plugin_package.delete";
    public const string PluginPackageRollout = "plugin_package.rollout";
}
