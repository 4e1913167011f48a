using System.Text.RegularExpressions;

namespace InstaDeploy.Contracts;

/// <summary>The rule for agent ids (the <c>X-Agent-Hostname</c> an agent announces), checked before an id is stored or logged.</summary>
public static partial class AgentIds
{
    /// <summary>The rule as text, for error messages.</summary>
    public const string Pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$";

    /// <summary>Whether <paramref name="id"/> is a valid agent id: a hostname-like name of 1–253 characters.</summary>
    public static bool IsValid([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? id) => id is not null && Valid().IsMatch(id);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex Valid();
}

/// <summary>Span attribute names, the same on both sides of the socket, so one trace reads as one story.</summary>
public static class TelemetryTags
{
    /// <summary>The job's id.</summary>
    public const string JobId = "instadeploy.job.id";

    /// <summary>The command type.</summary>
    public const string CommandType = "instadeploy.command.type";

    /// <summary>The agent's id.</summary>
    public const string AgentId = "instadeploy.agent.id";

    /// <summary>The project.</summary>
    public const string Project = "instadeploy.project";

    /// <summary>How the job ended.</summary>
    public const string Outcome = "instadeploy.job.outcome";

    /// <summary>The plugin that ran the command (agent side).</summary>
    public const string Plugin = "instadeploy.plugin";
}
