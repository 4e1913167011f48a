namespace InstaDeploy.Cli.Commands.Keys;

/// <summary><c>instadeploy keys ls|create|revoke</c> (admin).</summary>
public sealed class KeysCommand(KeysListCommand list, KeysCreateCommand create, KeysRevokeCommand revoke)
    : GroupCommand("keys", "API keys (needs an admin key): list, create, revoke", list, create, revoke);
