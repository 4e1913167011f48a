namespace InstaDeploy.Cli.Commands.Env;

/// <summary><c>instadeploy env set|ls|rm</c>: a project's variables (secret values read from standard input).</summary>
public sealed class EnvCommand(EnvSetCommand set, EnvListCommand list, EnvRemoveCommand remove)
    : GroupCommand("env", "A project's variables, written as .env beside its compose file at the next deploy", set, list, remove);
