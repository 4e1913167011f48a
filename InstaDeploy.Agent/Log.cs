namespace InstaDeploy.Agent;

/// <summary>Every log event of the agent, with stable ids. None takes the token.</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Connected to {ServerUrl} as {Hostname}")]
    public static partial void Connected(this ILogger logger, Uri serverUrl, string hostname);

    [LoggerMessage(1002, LogLevel.Warning, "Connection to {ServerUrl} failed: {Reason}. Retrying in {DelaySeconds:0.0} s")]
    public static partial void ConnectFailed(this ILogger logger, Uri serverUrl, string reason, double delaySeconds);

    [LoggerMessage(1003, LogLevel.Error, "The control plane at {ServerUrl} refused this agent's token (HTTP 401). Check AGENT_SECRET_TOKEN matches the control plane's. Retrying in {DelaySeconds:0.0} s")]
    public static partial void Unauthorized(this ILogger logger, Uri serverUrl, double delaySeconds);

    [LoggerMessage(1013, LogLevel.Error, "The control plane at {ServerUrl} refused this agent (HTTP 409): agent id {Hostname} is connected now from another agent process or with another credential. Give each agent its own AGENT_HOSTNAME, or stop the other one. Retrying in {DelaySeconds:0.0} s")]
    public static partial void IdTaken(this ILogger logger, Uri serverUrl, string hostname, double delaySeconds);

    [LoggerMessage(1014, LogLevel.Error, "The job journal (AGENT_STATE_DIR) cannot be written: {Reason}. Jobs the agent cannot record are refused until it can")]
    public static partial void JournalUnwritable(this ILogger logger, string reason);

    [LoggerMessage(1004, LogLevel.Warning, "Disconnected from {ServerUrl}: {Reason}")]
    public static partial void Disconnected(this ILogger logger, Uri serverUrl, string reason);

    [LoggerMessage(1007, LogLevel.Information, "Enrolled as {Hostname}; the agent key is kept in {KeyFile} (owner-only)")]
    public static partial void Enrolled(this ILogger logger, string hostname, string keyFile);

    [LoggerMessage(1012, LogLevel.Information, "The control plane issued {Hostname} a key of its own, kept in {KeyFile} (owner-only); the shared token is no longer used for this id")]
    public static partial void KeyIssued(this ILogger logger, string hostname, string keyFile);

    [LoggerMessage(1005, LogLevel.Warning, "Received a message that is not a valid command: {Reason}")]
    public static partial void BadCommand(this ILogger logger, string reason);

    [LoggerMessage(1006, LogLevel.Warning, "Could not send the message for {What}: {Reason}")]
    public static partial void SendFailed(this ILogger logger, string what, string reason);

    [LoggerMessage(2001, LogLevel.Information, "Job {JobId}: running {Type}")]
    public static partial void JobStarted(this ILogger logger, string jobId, string type);

    [LoggerMessage(2002, LogLevel.Information, "Job {JobId}: {Type} finished {Status}")]
    public static partial void JobFinished(this ILogger logger, string jobId, string type, string status);

    [LoggerMessage(2004, LogLevel.Warning, "Job {JobId} was running when the agent last stopped; it is reported as interrupted and not run again")]
    public static partial void JobInterrupted(this ILogger logger, string jobId);

    [LoggerMessage(2003, LogLevel.Error, "Job {JobId}: handler for {Type} threw")]
    public static partial void HandlerThrew(this ILogger logger, Exception exception, string jobId, string type);

    [LoggerMessage(3001, LogLevel.Information, "Loaded plugin {Plugin} {Version}: {CommandTypes}")]
    public static partial void PluginLoaded(this ILogger logger, string plugin, string version, string commandTypes);

    [LoggerMessage(3002, LogLevel.Error, "Plugin {Plugin} was not loaded: {Reason}")]
    public static partial void PluginRefused(this ILogger logger, string plugin, string reason);

    [LoggerMessage(3004, LogLevel.Information, "Reloaded plugin {Plugin} {Version}: {CommandTypes}; jobs already running finish on the previous version")]
    public static partial void PluginReloaded(this ILogger logger, string plugin, string version, string commandTypes);

    [LoggerMessage(3005, LogLevel.Information, "Unloaded plugin {Plugin} (its folder was removed); jobs already running finish first")]
    public static partial void PluginUnloaded(this ILogger logger, string plugin);

    [LoggerMessage(3006, LogLevel.Error, "Plugin {Plugin} also provides {CommandType}, which plugin {Owner} provides: {Owner} keeps it (plugins are ranked by folder name); remove or rename one of them")]
    public static partial void PluginConflict(this ILogger logger, string plugin, string commandType, string owner);

    [LoggerMessage(3007, LogLevel.Warning, "Could not scan the plugins folder {PluginsDirectory}: {Reason}")]
    public static partial void PluginScanFailed(this ILogger logger, string pluginsDirectory, string reason);

    [LoggerMessage(3003, LogLevel.Warning, "No plugins found in {PluginsDirectory}: this agent can run no command. Put each plugin in plugins/<Name>/<Name>.dll")]
    public static partial void NoPlugins(this ILogger logger, string pluginsDirectory);
    [LoggerMessage(4001, LogLevel.Information, "Agent {From} was updated to {To}: confirming once connected and healthy")]
    public static partial void UpdateConfirming(this ILogger logger, string from, string to);

    [LoggerMessage(4002, LogLevel.Information, "Update from {From} to {To} confirmed")]
    public static partial void UpdateConfirmed(this ILogger logger, string from, string to);

    [LoggerMessage(4003, LogLevel.Warning, "Update to {To} did not take: {Reason}")]
    public static partial void UpdateRolledBack(this ILogger logger, string to, string reason);

    [LoggerMessage(4004, LogLevel.Warning, "Agent {To} connected but has no command types loaded: it does not confirm its update, and its launcher will start the previous version")]
    public static partial void UpdateUnhealthy(this ILogger logger, string to);

    [LoggerMessage(4005, LogLevel.Warning, "Release {Version} refused: {Reason}")]
    public static partial void UpdateRefused(this ILogger logger, string version, string reason);

    [LoggerMessage(4006, LogLevel.Information, "Release {To} unpacked; stopping {From} for the launcher to switch")]
    public static partial void UpdateRestarting(this ILogger logger, string from, string to);
}
