using System.Text.RegularExpressions;

namespace InstaDeploy.Contracts;

/// <summary>
/// Fields InstaDeploy adds to the seed's <c>DEPLOY_COMPOSE</c> payload <c>{project_name, compose_file_base64}</c>.
/// All are optional, so a seed agent (which ignores them) and a seed server (which never sends them) still interoperate.
/// </summary>
public static class DeployPayload
{
    /// <summary><c>[{"name", "value", "secret"}]</c>: written as the project's owner-only <c>.env</c>; secret values are
    /// redacted from the job's output.</summary>
    public const string Env = "env";

    /// <summary>The control plane's revision number for this deploy; names the agent's copy of the files.</summary>
    public const string Revision = "revision";

    /// <summary>Seconds to wait after <c>up -d</c> for every container to be running (and healthy where it has a
    /// healthcheck); 0 skips the wait. Absent: <see cref="DefaultHealthWaitSeconds"/>.</summary>
    public const string HealthWaitSeconds = "health_wait_seconds";

    /// <summary>true: if the deploy fails, the agent deploys its last successful revision of the project again.</summary>
    public const string RollbackOnFailure = "rollback_on_failure";

    /// <summary>
    /// <c>{"bind_allow": [paths], "cap_add_allow": [capabilities]}</c>: the deploy policy applies to this job (the
    /// control plane's INSTADEPLOY_POLICY is on, or the API key has no host access). The agent then checks the model
    /// compose resolves before every <c>up</c> of the job (the automatic rollback's included), with these allow-lists
    /// unless its own AGENT_POLICY is on, whose lists it uses instead. Absent: only AGENT_POLICY decides.
    /// </summary>
    public const string Policy = "policy";

    /// <summary>In <see cref="Policy"/>: absolute host paths under which bind mounts are allowed.</summary>
    public const string PolicyBindAllow = "bind_allow";

    /// <summary>In <see cref="Policy"/>: capabilities cap_add may add.</summary>
    public const string PolicyCapAddAllow = "cap_add_allow";

    /// <summary>true: the agent runs <c>compose pull</c> before <c>up</c>, so a new image pushed behind the same tag is used.</summary>
    public const string Pull = "pull";

    /// <summary>
    /// <c>[{"host", "username", "password"}]</c>: logins for the registries the deploy's images come from. The agent uses them
    /// for this job only, through a private <c>DOCKER_CONFIG</c> folder it removes afterwards, and redacts them from the
    /// job's output. Sent only to an agent that announced <see cref="HandshakeHeaders.FeatureRegistryAuth"/>; merged into
    /// the command only as it is written to the agent's socket (never stored in clear).
    /// </summary>
    public const string RegistryAuths = "registry_auths";

    /// <summary>Result field of a failed deploy that was rolled back: the revision restored.</summary>
    public const string RolledBackTo = "rolled_back_to_revision";

    /// <summary>Result field of a failed deploy that was rolled back: whether the restored revision came up.</summary>
    public const string RollbackSucceeded = "rollback_succeeded";

    /// <summary>The health wait when the payload names none.</summary>
    public const int DefaultHealthWaitSeconds = 60;
    /// <summary>The longest health wait accepted.</summary>
    public const int MaxHealthWaitSeconds = 3600;
}

/// <summary>The rules for project environment variables, checked by the control plane and again by the agent.</summary>
public static partial class EnvironmentVariables
{
    /// <summary>The name rule as text, for error messages.</summary>
    public const string NamePattern = "^[A-Za-z_][A-Za-z0-9_]{0,255}$";
    /// <summary>The longest value accepted, in characters.</summary>
    public const int MaxValueLength = 64 * 1024;

    /// <summary>Whether <paramref name="name"/> is a valid variable name.</summary>
    public static bool IsValidName(string? name) => name is not null && ValidName().IsMatch(name);

    /// <summary>Why a value cannot be written to a <c>.env</c> file, or null when it can.</summary>
    /// <remarks>Compose v1 (python-dotenv) and v2 (compose-go) parse .env files differently; only values both read back
    /// exactly are accepted, and the message says which characters to avoid.</remarks>
    public static string? ValueProblem(string value) =>
        value.Length > MaxValueLength ? $"is longer than {MaxValueLength} characters"
        : value.IndexOfAny(['\n', '\r', '\0']) >= 0 ? "contains a line break or NUL, which a .env file cannot hold"
        : value.Contains("${", StringComparison.Ordinal) ? "contains '${', which compose v1 expands as a variable even in a quoted .env value"
        : value.EndsWith('\\') || value.Contains(@"\\", StringComparison.Ordinal) || value.Contains(@"\'", StringComparison.Ordinal)
            ? "has a backslash before another backslash, a single quote or the end of the value, which compose reads back differently from a .env file"
        : value.Contains('\'') && (value.Contains('$') || value.Contains('\\'))
            ? @"has a single quote together with '$' or '\', which compose v1 and v2 read back differently from a .env file"
        : null;

    /// <summary>One <c>.env</c> line that compose v1 (python-dotenv) and v2 (compose-go) both read back as exactly
    /// <paramref name="value"/>: single quotes (no escapes, no interpolation) unless the value has one.</summary>
    public static string EnvFileLine(string name, string value) =>
        !value.Contains('\'')
            ? $"{name}='{value}'"
            : $"{name}=\"{value.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"";

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]{0,255}\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex ValidName();
}

/// <summary>The <c>since</c> of a LOGS command: what <c>docker logs --since</c> takes, and nothing else.</summary>
public static partial class LogsSince
{
    /// <summary>The accepted forms, for error messages.</summary>
    public const string Description = "a duration like 30s, 10m, 2h or 1h30m, a Unix timestamp, or an RFC 3339 time like 2026-11-27T10:00:00Z";

    /// <summary>Whether <paramref name="since"/> is one of the accepted forms.</summary>
    public static bool IsValid(string? since) => since is { Length: > 0 and <= 40 } && (Duration().IsMatch(since) || Unix().IsMatch(since) || Rfc3339().IsMatch(since));

    [GeneratedRegex(@"^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex Duration();

    [GeneratedRegex(@"^[0-9]{1,12}(\.[0-9]{1,9})?\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex Unix();

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex Rfc3339();
}
