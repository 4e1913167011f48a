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

    /// <summary>Raised by <see cref="Notify"/> (on PostgreSQL, <see cref="Cluster.ClusterEvents"/> tells the other instances).</summary>
    public event Action<string>? Changed;

    public void Notify(string rolloutId)
    {
        NotifyHere(rolloutId);
        Changed?.Invoke(rolloutId);
    }

    /// <summary>Wakes this instance's streams of the rollout only (another instance changed it).</summary>
    public void NotifyHere(string rolloutId)
    {
        if (_waiting.TryRemove(rolloutId, out var waiting)) waiting.TrySetResult();
    }
}
