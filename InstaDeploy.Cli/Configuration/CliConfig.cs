using System.Text.RegularExpressions;

namespace InstaDeploy.Cli.Configuration;

/// <summary><c>config.json</c>: the named contexts (control planes) and which one is current. Holds no secret, so it
/// can be shown and shared; API keys live in <c>credentials.json</c>.</summary>
public sealed class CliConfig
{
    public string? CurrentContext { get; set; }

    public SortedDictionary<string, ContextEntry> Contexts { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One control plane.</summary>
public sealed class ContextEntry
{
    public string Url { get; set; } = "";
}

/// <summary><c>credentials.json</c> (owner-only): the API key of each context.</summary>
public sealed class CredentialsFile
{
    public SortedDictionary<string, CredentialEntry> Contexts { get; set; } = new(StringComparer.Ordinal);
}

public sealed class CredentialEntry
{
    public string ApiKey { get; set; } = "";
}

public static partial class ContextNames
{
    public const string Rule = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

    public static bool IsValid(string? name) => name is not null && NamePattern().IsMatch(name);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    /// <summary>An absolute http(s) URL without credentials, query or fragment; the trailing slash dropped.</summary>
    public static Uri ParseUrl(string text, string source)
    {
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw CliException.Usage($"{source} '{text}' is not an http:// or https:// URL, e.g. https://deploy.example.com or http://localhost:8000.");
        if (url.UserInfo.Length > 0)
            throw CliException.Usage($"{source} must not carry a user name or password; log in with `instadeploy login` instead.");
        if (url.Query.Length > 0 || url.Fragment.Length > 0)
            throw CliException.Usage($"{source} '{text}' must not have a query or fragment.");
        return new Uri(url.GetLeftPart(UriPartial.Path).TrimEnd('/'));
    }
}
