using System.CommandLine;

namespace InstaDeploy.Cli.Commands.Rollouts;

internal static class RolloutArguments
{
    public static Argument<string> Id() => new("rollout") { Description = "The rollout's id, ro-… (`instadeploy rollouts ls`)" };
}
