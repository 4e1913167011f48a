using InstaDeploy.Agent.Plugins;

namespace InstaDeploy.Agent;

/// <summary>What plugins may know about this agent.</summary>
internal sealed class AgentInfo(AgentOptions options, TimeProvider time) : IAgentInfo
{
    public string Version => options.Version;
    public string Hostname => options.Hostname;
    public string Architecture => options.Architecture;
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();
    public string ProjectsDirectory => options.ProjectsDirectory;
    public IReadOnlyList<PluginDescription> LoadedPlugins { get; set; } = [];
}
