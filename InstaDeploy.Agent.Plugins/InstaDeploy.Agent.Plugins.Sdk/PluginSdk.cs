namespace InstaDeploy.Agent.Plugins;

/// <summary>The plugin contract this SDK implements.</summary>
public static class PluginSdk
{
    /// <summary>
    /// The contract version: the SDK assembly's major version. An agent loads only plugins built against the same
    /// major version; a plugin built for another one is refused at load with a message saying so.
    /// </summary>
    public const int ContractVersion = 1;
}
