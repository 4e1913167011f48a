using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary>
/// The one path that starts a rollout (<c>deploy</c> or <c>rollback</c> with <c>--selector</c> or several
/// <c>--agent</c>): POST /rollouts, then print it and return, or follow it to its end (<see cref="RolloutWatcher"/>).
/// </summary>
public static class RolloutLauncher
{
    /// <summary>POST /rollouts' <c>targets</c>: a selector, or agent ids deployed in the order given.</summary>
    public static Dictionary<string, object> Targets(string? selector, IReadOnlyList<string> agents) =>
        selector is not null ? new() { ["selector"] = selector } : new() { ["agent_ids"] = agents };

    /// <summary>Refuses the flags that only a job for one agent has.</summary>
    public static void RefuseSingleAgentFlags(CliContext context, JobOptions job)
    {
        if (context.Value(job.FailFast))
            throw CliException.Usage("--fail-fast applies to one agent; a rollout takes --offline skip (an offline target is skipped) or --offline wait.");
    }

    public static async Task<int> StartAsync(CliContext context, Dictionary<string, object?> request, JobMode mode, bool untilPromotion, CancellationToken cancellationToken)
    {
        if (untilPromotion && mode == JobMode.Return) throw CliException.Usage("--until-promotion stops a follow: add --follow or --wait.");
        foreach (var key in request.Where(p => p.Value is null).Select(p => p.Key).ToList()) request.Remove(key);
        var output = context.Output;
        var created = await context.Api.PostAsync("/rollouts", request, cancellationToken);
        var id = RolloutView.Id(created) ?? throw new CliException(ExitCodes.InternalError, "The control plane created the rollout but its answer names no rollout_id.");
        if (mode == JobMode.Return)
        {
            output.Write(created, () =>
            {
                output.WriteTable(new TableView("ROLLOUT", "PROJECT", "STATE", "TARGETS").Add(id, Styles.Text(created, "project_name"), RolloutView.State(created),
                    RolloutView.Count(created, "total").ToString(System.Globalization.CultureInfo.InvariantCulture)));
                output.Note($"Watch it with `instadeploy rollouts show --watch {id}`.");
            }, () => [id]);
            return ExitCodes.Success;
        }
        output.Note($"Rolling out {Styles.Text(created, "project_name")} to {RolloutView.Count(created, "total")} target(s): rollout {id}");
        return await RolloutWatcher.WatchAsync(context, id, untilPromotion, quietly: mode == JobMode.Wait, cancellationToken);
    }
}
