using System.Text.Json;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;
using Spectre.Console;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary>
/// Follows a rollout until it ends: each event on GET /rollouts/{id}/events (or, where that stream is missing, a poll
/// every two seconds) re-reads GET /rollouts/{id}. On a terminal, a live view; otherwise one line per change. Exit 0 when
/// it succeeded, 1 when it failed, was cancelled or rolled back, or paused after failures.
/// </summary>
public static class RolloutWatcher
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    public static async Task<int> WatchAsync(CliContext context, string id, CancellationToken cancellationToken)
    {
        var output = context.Output;
        var path = $"/rollouts/{InstaDeployApiClient.Escape(id)}";
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var changed = new SemaphoreSlim(0);
        var events = ListenAsync(context, path + "/events", changed, stop.Token);
        JsonElement rollout;
        try
        {
            if (output.Animate && !output.IsJson && !output.Quiet)
            {
                rollout = await context.Api.GetAsync(path, cancellationToken);
                await output.Err.Live(RolloutView.Live(rollout)).StartAsync(async live =>
                {
                    while (!RolloutView.IsTerminal(RolloutView.State(rollout)) && !PausedAfterFailure(rollout))
                    {
                        await changed.WaitAsync(PollInterval, cancellationToken);
                        rollout = await context.Api.GetAsync(path, cancellationToken);
                        live.UpdateTarget(RolloutView.Live(rollout));
                    }
                });
            }
            else
            {
                string? last = null;
                while (true)
                {
                    rollout = await context.Api.GetAsync(path, cancellationToken);
                    var summary = RolloutView.Summary(rollout);
                    if (summary != last)
                    {
                        output.Note(summary);
                        if (RolloutView.State(rollout)?.ToLowerInvariant() == "paused")
                            output.Note($"Paused: waiting for `instadeploy rollouts promote {id}` (past a canary) or `resume {id}`.");
                    }
                    last = summary;
                    if (RolloutView.IsTerminal(RolloutView.State(rollout)) || PausedAfterFailure(rollout)) break;
                    await changed.WaitAsync(PollInterval, cancellationToken);
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            try { await events; } catch (OperationCanceledException) { }
        }

        output.Write(rollout, () => output.WriteTable(RolloutView.Targets(rollout)), () => [RolloutView.Id(rollout)]);
        var state = RolloutView.State(rollout);
        if (RolloutView.Succeeded(state)) return ExitCodes.Success;
        output.Error(PausedAfterFailure(rollout)
            ? $"Rollout {id} paused after {RolloutView.Count(rollout, "failed")} failed agent(s); `instadeploy rollouts resume {id}` or `cancel {id}`."
            : $"Rollout {id} ended {state} ({RolloutView.Count(rollout, "failed")} failed).");
        return ExitCodes.Failed;
    }

    private static bool PausedAfterFailure(JsonElement rollout) =>
        RolloutView.State(rollout)?.ToLowerInvariant() == "paused" && RolloutView.Count(rollout, "failed") > 0;

    /// <summary>Wakes the watcher on every event; gives up quietly (polling remains) if the stream is missing or drops.</summary>
    private static async Task ListenAsync(CliContext context, string path, SemaphoreSlim changed, CancellationToken cancellationToken)
    {
        string? lastEventId = null;
        for (var attempt = 0; attempt < 5 && !cancellationToken.IsCancellationRequested; attempt++)
        {
            try
            {
                using var response = await context.Api.OpenEventStreamAsync(path, lastEventId, cancellationToken);
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                await foreach (var message in ServerSentEvents.ReadAsync(stream, cancellationToken))
                {
                    lastEventId = message.Id ?? lastEventId;
                    changed.Release();
                }
            }
            catch (ApiException)
            {
                return; // no event stream on this server: the poll carries on
            }
            catch (Exception e) when (e is CliException or IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(PollInterval, context.Services.Time, cancellationToken);
            }
        }
    }
}
