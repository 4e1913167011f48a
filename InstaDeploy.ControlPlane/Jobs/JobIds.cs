using System.Text.RegularExpressions;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>The ids this control plane gives jobs: <c>job-</c> and 32 hex digits. An agent's answer naming anything else
/// is not looked up, and the id is not logged.</summary>
public static partial class JobIds
{
    public static bool IsValid(string? id) => id is { Length: 36 } && Pattern().IsMatch(id);

    [GeneratedRegex(@"^job-[0-9a-f]{32}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
