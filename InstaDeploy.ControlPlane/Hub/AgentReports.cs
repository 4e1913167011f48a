using System.Text.RegularExpressions;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Jobs;

namespace InstaDeploy.ControlPlane.Hub;

/// <summary>The rules for what an agent reports about itself, checked before anything of it is stored or logged.</summary>
internal static partial class AgentReports
{
    public const int MaxPlugins = 64;
    public const int MaxCommandTypesPerPlugin = 64;
    public const int MaxStateIds = 100_000;

    /// <summary>Why the plugin list is refused, or null when it is acceptable.</summary>
    public static string? PluginsProblem(AgentPluginsMessage message)
    {
        if (message.Plugins.Count > MaxPlugins) return $"more than {MaxPlugins} plugins";
        foreach (var plugin in message.Plugins)
        {
            if (plugin is null || !Name().IsMatch(plugin.Name ?? "")) return "a plugin name that is not 1-100 letters, digits, '.', '_' or '-'";
            if (plugin.Version is null || plugin.Version.Length > 64 || plugin.Version.Any(char.IsControl)) return "a plugin version that is not 0-64 printable characters";
            if (plugin.CommandTypes is null || plugin.CommandTypes.Count > MaxCommandTypesPerPlugin) return $"a plugin with more than {MaxCommandTypesPerPlugin} command types";
            if (plugin.CommandTypes.Any(t => t is null || !CommandType().IsMatch(t))) return "a command type that is not 1-64 upper-case letters, digits or '_'";
        }
        return null;
    }

    /// <summary>The job ids of a state report that this control plane could have made; null when the report is too big.</summary>
    public static AgentStateMessage? Bounded(AgentStateMessage state) =>
        state.Running.Count + state.Results.Count > MaxStateIds ? null
            : state with { Running = [.. state.Running.Where(JobIds.IsValid)], Results = [.. state.Results.Where(JobIds.IsValid)] };

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Name();

    [GeneratedRegex(@"^[A-Z][A-Z0-9_]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex CommandType();
}
