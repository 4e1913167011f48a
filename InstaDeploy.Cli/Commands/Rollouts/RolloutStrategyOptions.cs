using System.CommandLine;
using System.Globalization;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary>The rollout flags of <c>deploy</c> and <c>rollback</c> with <c>--selector</c> or several <c>--agent</c>:
/// POST /rollouts' <c>strategy</c>. Flags not given are left out, so the server's defaults apply.</summary>
public sealed class RolloutStrategyOptions
{
    public Option<string?> MaxParallel { get; } = new("--max-parallel")
    {
        Description = "Rollout: targets deployed at once, a count (3) or a percentage of the targets (25%); default 1",
        HelpName = "n|n%",
    };

    public Option<int?> Canary { get; } = new("--canary")
    {
        Description = "Rollout: the first N targets go first; then it waits for `instadeploy rollouts promote ID` (or --auto-promote)",
        HelpName = "n",
    };

    public Option<bool> AutoPromote { get; } = new("--auto-promote") { Description = "Rollout: go on past the canaries by itself once every one succeeded" };

    public Option<int?> BatchWait { get; } = new("--batch-wait") { Description = "Rollout: seconds between one batch ending and the next starting", HelpName = "seconds" };

    public Option<string?> MaxFailures { get; } = new("--max-failures")
    {
        Description = "Rollout: failed targets, a count or a percentage, after which --on-failure acts; default 1",
        HelpName = "n|n%",
    };

    public Option<string?> OnFailure { get; } = new Option<string?>("--on-failure")
    {
        Description = "Rollout: pause (default), continue (it then ends failed), or rollback (every target deployed gets its previous revision back)",
        HelpName = "pause|continue|rollback",
    }.AcceptOnlyFromAmong("pause", "continue", "rollback");

    public Option<string?> Offline { get; } = new Option<string?>("--offline")
    {
        Description = "Rollout: wait (default; an offline target's job waits for its agent until --queue-ttl, then counts as failed) or skip",
        HelpName = "wait|skip",
    }.AcceptOnlyFromAmong("wait", "skip");

    public Option<bool> UntilPromotion { get; } = new("--until-promotion")
    {
        Description = "Rollout, with --follow or --wait: stop once the canaries succeeded and it waits for promotion (exit 0), for a CI step before a manual gate",
    };

    private IEnumerable<Option> All => [MaxParallel, Canary, AutoPromote, BatchWait, MaxFailures, OnFailure, Offline, UntilPromotion];

    public void AddTo(Command command)
    {
        foreach (var option in All) command.Add(option);
    }

    /// <summary>The first rollout flag given, for the error when there is no rollout to apply it to.</summary>
    public string? FirstGiven(CliContext context) => All.FirstOrDefault(o => context.Parse.GetResult(o) is { Implicit: false })?.Name;

    public Dictionary<string, object?> Strategy(CliContext context, int? healthWaitSeconds)
    {
        var canary = context.Value(Canary);
        if (context.Value(AutoPromote) && canary is null) throw CliException.Usage("--auto-promote promotes canaries: give --canary N too.");
        var strategy = new Dictionary<string, object?>
        {
            ["max_parallel"] = CountOrPercent(context.Value(MaxParallel)),
            ["canary"] = canary is { } count && context.Value(AutoPromote) ? new { count, auto_promote = true } : canary,
            ["batch_wait_seconds"] = context.Value(BatchWait),
            ["health_wait_seconds"] = healthWaitSeconds,
            ["max_failures"] = CountOrPercent(context.Value(MaxFailures)),
            ["on_failure"] = context.Value(OnFailure),
            ["offline"] = context.Value(Offline),
        };
        foreach (var key in strategy.Where(p => p.Value is null).Select(p => p.Key).ToList()) strategy.Remove(key);
        return strategy;
    }

    /// <summary>A count goes as a number, anything else (25%) as text: the server checks both and says what is wrong.</summary>
    private static object? CountOrPercent(string? given) =>
        given is null ? null : int.TryParse(given, NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : given.Trim();
}
