namespace InstaDeploy.Cli.Commands.Contexts;

/// <summary><c>instadeploy context add|use|ls|rm</c>: named control planes in ~/.config/instadeploy/config.json.</summary>
public sealed class ContextCommand(ContextAddCommand add, ContextUseCommand use, ContextListCommand list, ContextRemoveCommand remove)
    : GroupCommand("context", "Named control planes (contexts) in ~/.config/instadeploy/config.json", add, use, list, remove);
