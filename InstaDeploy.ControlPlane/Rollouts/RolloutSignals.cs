using System.Collections.Concurrent;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>
/// Tells the event streams of a rollout that it has new events. Only a hint: a stream reads the events themselves from
/// the database, so a signal that is missed or repeated loses nothing.
/// </summary>
public sealed class RolloutSignals
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);

    /// <summary>A task that completes at the next <see cref="Notify"/> for the rollout; take it before reading, so a
    /// change between the read and the wait is not missed.</summary>
    public Task Next(string rolloutId) =>
        _waiting.GetOrAdd(rolloutId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Notify(string rolloutId)
    {
        if (_waiting.TryRemove(rolloutId, out var waiting)) waiting.TrySetResult();
    }
}
