namespace InstaDeploy.Cli.Commands.Agents;

/// <summary><c>instadeploy agents ls|show|health|labels|run|revoke</c>.</summary>
public sealed class AgentsCommand(
    AgentsListCommand list, AgentsShowCommand show, AgentsHealthCommand health, AgentsLabelsCommand labels, AgentsRunCommand run, AgentsRevokeCommand revoke)
    : GroupCommand("agents", "The agents (one per server): list, inspect, health-check, label, run a command, revoke", list, show, health, labels, run, revoke);
