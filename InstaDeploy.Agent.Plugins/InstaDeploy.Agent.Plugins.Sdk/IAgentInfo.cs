namespace InstaDeploy.Agent.Plugins;

/// <summary>What a plugin may know about the agent hosting it.</summary>
public interface IAgentInfo
{
    /// <summary>The agent's version (<c>AGENT_VERSION</c>).</summary>
    string Version { get; }

    /// <summary>The agent's hostname, which is also its id in the control plane.</summary>
    string Hostname { get; }

    /// <summary>The agent's architecture, e.g. <c>linux-amd64</c>.</summary>
    string Architecture { get; }

    /// <summary>When the agent process started.</summary>
    DateTimeOffset StartedAt { get; }

    /// <summary>The absolute path of the folder holding one sub-folder per project.</summary>
    string ProjectsDirectory { get; }

    /// <summary>The plugins loaded right now.</summary>
    IReadOnlyList<PluginDescription> LoadedPlugins { get; }
}

/// <summary>A loaded plugin: its name, version and the command types it runs.</summary>
/// <param name="Name">The plugin's folder and assembly name.</param>
/// <param name="Version">The plugin assembly's informational version.</param>
/// <param name="CommandTypes">The command types its handlers run.</param>
public sealed record PluginDescription(string Name, string Version, IReadOnlyList<string> CommandTypes);
