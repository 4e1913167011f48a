namespace InstaDeploy.Compose;

/// <summary>
/// The operator's allow-lists for the deploy policy, and the names of the settings they come from (for messages).
/// </summary>
/// <param name="BindAllow">Absolute host paths under which bind mounts (and files compose reads) are allowed.</param>
/// <param name="CapAddAllow">Capabilities <c>cap_add</c> may add, in upper case without <c>CAP_</c>.</param>
/// <param name="BindAllowSetting">The setting <paramref name="BindAllow"/> comes from, e.g. INSTADEPLOY_POLICY_BIND_ALLOW.</param>
/// <param name="CapAddAllowSetting">The setting <paramref name="CapAddAllow"/> comes from.</param>
public sealed record PolicySettings(IReadOnlyList<string> BindAllow, IReadOnlyList<string> CapAddAllow, string BindAllowSetting, string CapAddAllowSetting)
{
    /// <summary>The lists from comma-separated settings, normalized (paths made absolute without a trailing '/', capabilities upper case without CAP_).</summary>
    public static PolicySettings FromLists(string? bindAllow, string? capAddAllow, string bindAllowSetting, string capAddAllowSetting) =>
        new(Split(bindAllow).Select(NormalizeAllowedPath).ToList(), Split(capAddAllow).Select(NormalizeCapability).Distinct().ToList(), bindAllowSetting, capAddAllowSetting);

    /// <summary>What is wrong with a comma-separated bind allow-list, or null (each entry must be an absolute path).</summary>
    public static string? BindAllowProblem(string? list, string setting) =>
        Split(list).FirstOrDefault(p => !p.StartsWith('/')) is { } relative
            ? $"{setting}: '{relative}' is not an absolute path (give host folders like /srv/apps, separated by commas)"
            : null;

    /// <summary>What is wrong with a comma-separated capability list, or null.</summary>
    public static string? CapAddAllowProblem(string? list, string setting) =>
        Split(list).FirstOrDefault(c => !System.Text.RegularExpressions.Regex.IsMatch(NormalizeCapability(c), "^[A-Z][A-Z0-9_]{1,40}$")) is { } bad
            ? $"{setting}: '{bad}' is not a capability name (e.g. NET_ADMIN or CAP_NET_RAW, separated by commas)"
            : null;

    /// <summary>A capability as compose and Docker accept it (<c>cap_net_admin</c>, <c>NET_ADMIN</c>) in one spelling: NET_ADMIN.</summary>
    public static string NormalizeCapability(string capability)
    {
        var upper = capability.Trim().ToUpperInvariant();
        return upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper[4..] : upper;
    }

    private static string NormalizeAllowedPath(string path) => HostPaths.Normalize(path) is var normalized && normalized.Length > 1 ? normalized : "/";

    private static string[] Split(string? list) =>
        (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
