using System.CommandLine;

namespace InstaDeploy.Cli.Commands.Agents;

internal static class AgentArguments
{
    public static Argument<string> Id(string description = "The agent's id (its hostname; `instadeploy agents ls`)") =>
        new("agent") { Description = description };
}
