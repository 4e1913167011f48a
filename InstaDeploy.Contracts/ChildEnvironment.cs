namespace InstaDeploy.Contracts;

/// <summary>
/// The environment the agent gives the programs it starts (compose, docker): only what they need to find the engine,
/// their settings and a locale, never the agent's own environment. The control plane uses the same rule to know which
/// <c>${NAME}</c> in a compose file it cannot resolve itself, since compose fills it from this environment.
/// </summary>
public static class ChildEnvironment
{
    private static readonly string[] Names = ["PATH", "HOME", "USER", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR"];

    private static readonly string[] Prefixes = ["DOCKER_", "COMPOSE_", "BUILDKIT_", "BUILDX_", "LC_", "XDG_"];

    /// <summary>Whether a variable of the agent's environment is passed to the programs it starts.</summary>
    public static bool IsPassed(string name) =>
        (Names.Contains(name, StringComparer.Ordinal) || Prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
        && !IsSecretName(name);

    /// <summary>Whether a variable's name says it holds a secret (token, secret, password, key): never passed, even
    /// under an allowed prefix (e.g. a <c>DOCKER_…_TOKEN</c>).</summary>
    public static bool IsSecretName(string name) =>
        name.Contains("TOKEN", StringComparison.OrdinalIgnoreCase)
        || name.Contains("SECRET", StringComparison.OrdinalIgnoreCase)
        || name.Contains("PASSWORD", StringComparison.OrdinalIgnoreCase)
        || name.Contains("API_KEY", StringComparison.OrdinalIgnoreCase)
        || name.Contains("APIKEY", StringComparison.OrdinalIgnoreCase);

    /// <summary>The part of <paramref name="environment"/> a child process gets.</summary>
    public static Dictionary<string, string> Of(System.Collections.IDictionary environment)
    {
        var passed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in environment)
            if (entry.Key is string name && entry.Value is string value && IsPassed(name)) passed[name] = value;
        return passed;
    }
}
