using System.Globalization;

namespace InstaDeploy.Cli.Api;

/// <summary>What a follow of a rollout saw: its first read (<c>start</c>), a <c>rollout</c> event or a <c>target</c>
/// event (with the row before and after).</summary>
public sealed record RolloutChange(string Kind, TargetChange? Target)
{
    public static readonly RolloutChange Start = new("start", null);
}

/// <summary>
/// Follows a rollout until it ends: GET /rollouts/{id} once, then its events (GET /rollouts/{id}/events) from the
/// number that read carried, applied to the snapshot in order. A dropped or closed stream is reopened with
/// <c>Last-Event-ID</c>, so no change is missed or applied twice; the stream's <c>end</c> event ends the follow.
/// </summary>
public sealed class RolloutFollower(InstaDeployApiClient api, TimeProvider time)
{
    /// <summary>Reconnects in a row without an event in between (or a connection that lasted a minute) before giving up.</summary>
    public const int MaxReconnects = JobFollower.MaxReconnects;

    private static readonly TimeSpan LongEnough = TimeSpan.FromMinutes(1);

    /// <summary>Follows the rollout until it has ended, or until <paramref name="stop"/> says so after a change.</summary>
    public async Task<RolloutSnapshot> FollowAsync(string rolloutId, Func<RolloutSnapshot, RolloutChange, ValueTask<bool>> stop, CancellationToken cancellationToken)
    {
        var path = $"/rollouts/{InstaDeployApiClient.Escape(rolloutId)}";
        var snapshot = RolloutSnapshot.From(await api.GetAsync(path, cancellationToken));
        if (await stop(snapshot, RolloutChange.Start) || RolloutStates.IsFinal(snapshot.State)) return snapshot;

        var failures = 0;
        while (true)
        {
            var opened = time.GetTimestamp();
            try
            {
                using var response = await api.OpenEventStreamAsync(path + "/events", snapshot.LastEventId.ToString(CultureInfo.InvariantCulture), cancellationToken);
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                await foreach (var message in ServerSentEvents.ReadAsync(stream, cancellationToken))
                {
                    if (message.Event == "end") return snapshot;
                    var seen = snapshot.LastEventId;
                    var target = snapshot.Apply(message);
                    if (snapshot.LastEventId == seen) continue;
                    failures = 0;
                    if (await stop(snapshot, new RolloutChange(message.Event, target))) return snapshot;
                }
            }
            catch (CliException e) when (e.ExitCode == ExitCodes.ServerOrNetwork && !cancellationToken.IsCancellationRequested)
            {
                // Unreachable, 5xx or 429 on reopening: try again below.
            }
            catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                // The connection dropped mid-stream.
            }

            // A stream the server closed (it caps a follow's length) or a proxy cut after a long quiet time is no failure.
            if (time.GetElapsedTime(opened) >= LongEnough) failures = 0;
            if (++failures > MaxReconnects)
                throw new CliException(ExitCodes.ServerOrNetwork,
                    $"The event stream of rollout {rolloutId} from {api.BaseUrl} broke and could not be resumed; watch it again with `instadeploy rollouts show --watch {rolloutId}`.");
            await JobFollower.BackOffAsync(failures, time, cancellationToken);
        }
    }
}
