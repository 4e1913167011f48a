using System.Text.Json.Serialization.Metadata;

namespace InstaDeploy.ControlPlane.Jobs.Submission;

/// <summary>A command to send to one agent, as <see cref="CommandSubmitter"/> takes it.</summary>
public sealed record JobRequest
{
    /// <summary>The command type.</summary>
    public required string Type { get; init; }

    /// <summary>The agent the caller named, if any.</summary>
    public string? AgentId { get; init; }

    /// <summary>The project the job belongs to, if any.</summary>
    public string? ProjectName { get; init; }

    /// <summary>With no agent named: the agent the project is placed on when that is one, else the only online agent.
    /// Without it, an agent must be named.</summary>
    public bool ChooseByProject { get; init; }

    /// <summary>Whether the job waits for an offline agent (until its queue expiry) rather than being refused.</summary>
    public bool WaitIfOffline { get; init; } = true;

    /// <summary>The job's deadline once sent; default INSTADEPLOY_JOB_TIMEOUT_SECONDS.</summary>
    public int? TimeoutSeconds { get; init; }

    /// <summary>How long it may wait for an offline agent; default INSTADEPLOY_QUEUE_TTL_SECONDS.</summary>
    public int? QueueTtlSeconds { get; init; }

    /// <summary>Refuse when the agent's plugins do not run <see cref="Type"/> (for plugin commands).</summary>
    public bool RequirePluginForType { get; init; }

    /// <summary>Most jobs of this type the agent may have open at once, beyond the overall limit.</summary>
    public TypeLimit? OpenOfTypeLimit { get; init; }

    /// <summary>Builds the command for the chosen agent (its variables, say), or refuses.</summary>
    public required Func<string, CancellationToken, ValueTask<CommandBody>> Body { get; init; }

    /// <summary>When set, what came of the submission (the job, or the refusal) is recorded in the audit log.</summary>
    public JobAudit? Audit { get; init; }
}

/// <summary>How the audit log records a submission: who, which action, on what, and a summary without secrets.</summary>
public sealed record JobAudit(InstaDeploy.ControlPlane.Audit.AuditActor Actor, string Action, string Target, object? Summary);

/// <summary>At most <paramref name="Max"/> open jobs of the request's type per agent; <paramref name="Detail"/> says what to do
/// when reached (<c>{0}</c>: the agent, <c>{1}</c>: how many are open).</summary>
public sealed record TypeLimit(int Max, string Title, string Detail);

/// <summary>The command's content for its agent.</summary>
public sealed record CommandBody
{
    /// <summary>The payload as typed data.</summary>
    public object? Payload { get; init; }
    public JsonTypeInfo? PayloadType { get; init; }

    /// <summary>See <see cref="Data.JobEntity.SecretsProtected"/>.</summary>
    public string? SecretsProtected { get; init; }

    /// <summary>What a lifecycle hook records with the job.</summary>
    public object? HookState { get; init; }

    /// <summary>A protocol extension the agent must have announced to be sent this command, and the refusal if it has not.</summary>
    public (string Feature, CommandRefusal IfMissing)? RequiredFeature { get; init; }

    /// <summary>Set when the command cannot be built for this agent.</summary>
    public CommandRefusal? Refusal { get; init; }

    public static CommandBody Of<T>(T payload, JsonTypeInfo<T> type) where T : notnull => new() { Payload = payload, PayloadType = type };

    public static implicit operator CommandBody(CommandRefusal refusal) => new() { Refusal = refusal };
}
