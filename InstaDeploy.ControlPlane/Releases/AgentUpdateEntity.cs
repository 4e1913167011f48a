namespace InstaDeploy.ControlPlane.Releases;

/// <summary>How the last update of one agent ended (one row per agent, replaced by the next): written with its
/// UPDATE_AGENT job's end, shown on the agent (GET /agents/{id}, the console's agent page).</summary>
public sealed class AgentUpdateEntity
{
    public required string AgentId { get; set; }
    public required string JobId { get; set; }

    /// <summary>The release the update was to.</summary>
    public string ToVersion { get; set; } = "";

    /// <summary>The version that ran before (and runs again when it did not work).</summary>
    public string FromVersion { get; set; } = "";

    /// <summary><see cref="AgentUpdateOutcomes"/>: updated, rolled_back, refused or failed.</summary>
    public required string Outcome { get; set; }

    /// <summary>Why, when it did not work: the agent's or its launcher's words, or the job's (timed out, expired).</summary>
    public string Reason { get; set; } = "";
    public DateTimeOffset FinishedAt { get; set; }
}

/// <summary>How an update ended, as the agent reports it in its UPDATE_AGENT job's result (<c>outcome</c>).</summary>
public static class AgentUpdateOutcomes
{
    /// <summary>The new version connected and passed its health check.</summary>
    public const string Updated = "updated";

    /// <summary>The new version exited or did not confirm in time: its launcher started the previous one again.</summary>
    public const string RolledBack = "rolled_back";

    /// <summary>The agent refused the release (signature, architecture, checksum, no launcher): nothing changed.</summary>
    public const string Refused = "refused";

    /// <summary>Anything else: the job timed out, expired, or the agent gave no outcome.</summary>
    public const string Failed = "failed";
}
