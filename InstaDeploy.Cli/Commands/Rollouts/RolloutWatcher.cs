using System.Text.Json;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;
using Spectre.Console;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary>
/// The one way a command follows a rollout (<c>deploy --selector --follow</c>, <c>rollouts show --watch</c>): its
/// events through <see cref="RolloutFollower"/>, shown as a live view on a terminal or one line per change otherwise
/// (nothing with <paramref name="quietly"/>), then the rollout as the API has it. The exit code is what CI needs: 0 only
/// when it succeeded (or, with <c>--until-promotion</c>, when its canaries did and it waits for promotion); 1 when it
/// ended failed, rolled back or cancelled, or paused with failed targets (it can then only end failed, and only a
/// person can move it on). A manual pause, or canaries waiting for promotion, are waited through.
/// </summary>
public static class RolloutWatcher
{
    private static readonly TimeSpan Repaint = TimeSpan.FromMilliseconds(100);
    private const int LiveRows = 15;

    public static async Task<int> WatchAsync(CliContext context, string rolloutId, bool untilPromotion, bool quietly, CancellationToken cancellationToken)
    {
        var output = context.Output;
        var follower = new RolloutFollower(context.Api, context.Services.Time);
        bool Stop(RolloutSnapshot s) => s.State == RolloutStates.Paused && (s.Count("failed") > 0 || untilPromotion && s.AwaitingPromotion);

        RolloutSnapshot snapshot;
        if (quietly || output.Quiet)
        {
            snapshot = await output.WithProgressAsync($"Waiting for rollout {rolloutId}",
                () => follower.FollowAsync(rolloutId, (s, _) => ValueTask.FromResult(Stop(s)), cancellationToken));
        }
        else if (output.Animate && !output.IsJson)
        {
            RolloutSnapshot? last = null;
            await output.Err.Live(new Text($"rollout {rolloutId}")).StartAsync(async live =>
            {
                var painted = context.Services.Time.GetTimestamp();
                last = await follower.FollowAsync(rolloutId, (s, change) =>
                {
                    if (change == RolloutChange.Start || context.Services.Time.GetElapsedTime(painted) >= Repaint || Stop(s))
                    {
                        live.UpdateTarget(RolloutView.Live(s.ToJson(), LiveRows));
                        painted = context.Services.Time.GetTimestamp();
                    }
                    return ValueTask.FromResult(Stop(s));
                }, cancellationToken);
                live.UpdateTarget(RolloutView.Live(last.ToJson(), LiveRows));
            });
            snapshot = last!;
        }
        else
        {
            string? shown = null;
            snapshot = await follower.FollowAsync(rolloutId, (s, change) =>
            {
                if (change == RolloutChange.Start)
                {
                    output.Note(RolloutView.Header(s.ToJson()));
                    // Targets already under way or ended when the follow began: their first change is not in the
                    // events that come after, so they are said here once.
                    foreach (var row in s.Targets.Where(t => RolloutSnapshot.TargetState(t) != "waiting"))
                        if (RolloutView.TargetLine(new TargetChange(null, row)) is { } first) output.Note(first);
                }
                if (change.Target is { } target && RolloutView.TargetLine(target) is { } line) output.Note(line);
                // The rollout's line when its state or reason changes, not for every count.
                var json = s.ToJson();
                var key = $"{s.State}|{s.AwaitingPromotion}|{s.Reason}";
                if (key != shown)
                {
                    output.Note(RolloutView.Line(json));
                    if (!Stop(s) && RolloutView.PausedHint(json) is { } hint) output.Note(hint);
                    shown = key;
                }
                return ValueTask.FromResult(Stop(s));
            }, cancellationToken);
        }

        var rollout = await context.Api.GetAsync($"/rollouts/{InstaDeployApiClient.Escape(rolloutId)}", cancellationToken);
        output.Write(rollout, () => output.WriteTable(RolloutView.Targets(rollout)), () => [RolloutView.Id(rollout)]);
        // Where the watch stopped on a pause, that pause decides (the rollout may have moved on since); else its end.
        return Verdict(output, Stop(snapshot) ? snapshot.ToJson() : rollout);
    }

    /// <summary>The exit code, and the line that says why on standard error.</summary>
    private static int Verdict(Output.CliOutput output, JsonElement rollout)
    {
        var id = RolloutView.Id(rollout);
        var state = RolloutView.State(rollout);
        var reason = Styles.Text(rollout, "reason")?.TrimEnd('.');
        var failed = RolloutView.Count(rollout, "failed");
        if (state == RolloutStates.Succeeded)
        {
            output.Note($"Rollout {id} succeeded: {RolloutView.Progress(rollout)}.");
            return ExitCodes.Success;
        }
        if (state == RolloutStates.Paused && failed == 0 && RolloutView.Awaiting(rollout))
        {
            output.Note($"Rollout {id} waits for promotion: {reason}. `instadeploy rollouts promote {id}` deploys the others.");
            return ExitCodes.Success;
        }
        if (state == RolloutStates.Paused)
        {
            output.Error($"Rollout {id} paused with {failed} failed target(s): {reason}. {RolloutView.PausedHint(rollout)}");
            return ExitCodes.Failed;
        }
        output.Error($"Rollout {id} ended {state}: {reason}");
        return ExitCodes.Failed;
    }
}
