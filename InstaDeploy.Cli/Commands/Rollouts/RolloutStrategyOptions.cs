using System.CommandLine;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary>The rollout strategy flags of <c>deploy --selector</c> (POST /rollouts' <c>strategy</c>).</summary>
public sealed class RolloutStrategyOptions
{
    public Option<int?> MaxParallel { get; } = new("--max-parallel") { Description = "Rollout: agents deployed at once", HelpName = "n" };

    public Option<int?> Canary { get; } = new("--canary") { Description = "Rollout: agents deployed first, then the rollout waits to be promoted", HelpName = "n" };

    public Option<int?> BatchWait { get; } = new("--batch-wait") { Description = "Rollout: seconds to wait between batches", HelpName = "seconds" };

    public Option<int?> MaxFailures { get; } = new("--max-failures") { Description = "Rollout: failed agents tolerated before --on-failure applies", HelpName = "n" };

    public Option<string?> OnFailure { get; } = new Option<string?>("--on-failure") { Description = "Rollout: what a failure past --max-failures does", HelpName = "pause|continue|rollback" }
        .AcceptOnlyFromAmong("pause", "continue", "rollback");

    public Option<string?> Offline { get; } = new Option<string?>("--offline") { Description = "Rollout: what to do with offline agents", HelpName = "wait|skip" }
        .AcceptOnlyFromAmong("wait", "skip");

    private IEnumerable<Option> All => [MaxParallel, Canary, BatchWait, MaxFailures, OnFailure, Offline];

    public void AddTo(Command command)
    {
        foreach (var option in All) command.Add(option);
    }

    /// <summary>The first strategy flag given, for the error when there is no rollout to apply it to.</summary>
    public string? FirstGiven(CliContext context) => All.FirstOrDefault(o => context.Parse.GetResult(o) is { Implicit: false })?.Name;

    /// <summary>The strategy object; flags not given are left out, so the server's defaults apply.</summary>
    public Dictionary<string, object?> Strategy(CliContext context, int? healthWaitSeconds)
    {
        var strategy = new Dictionary<string, object?>
        {
            ["max_parallel"] = context.Value(MaxParallel),
            ["canary"] = context.Value(Canary),
            ["batch_wait_seconds"] = context.Value(BatchWait),
            ["health_wait_seconds"] = healthWaitSeconds,
            ["max_failures"] = context.Value(MaxFailures),
            ["on_failure"] = context.Value(OnFailure),
            ["offline"] = context.Value(Offline),
        };
        foreach (var key in strategy.Where(p => p.Value is null).Select(p => p.Key).ToList()) strategy.Remove(key);
        return strategy;
    }
}
