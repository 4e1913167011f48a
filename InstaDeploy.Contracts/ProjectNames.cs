using System.Text.RegularExpressions;

namespace InstaDeploy.Contracts;

/// <summary>The one rule for project names, checked by the control plane and again by the agent.</summary>
public static partial class ProjectNames
{
    /// <summary>The rule as text, for error messages.</summary>
    public const string Pattern = "^[a-zA-Z0-9_-]{1,64}$";

    /// <summary>Whether <paramref name="name"/> is a valid project name: 1–64 ASCII letters, digits, '_' or '-'.</summary>
    public static bool IsValid(string? name) => name is not null && ValidName().IsMatch(name);

    // \z, not $: in .NET '$' also matches before a final newline, which would let "app\n" through.
    [GeneratedRegex(@"^[a-zA-Z0-9_-]{1,64}\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex ValidName();
}
