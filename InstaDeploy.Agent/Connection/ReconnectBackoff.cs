namespace InstaDeploy.Agent.Connection;

/// <summary>
/// Exponential backoff with full jitter: attempt n waits a random time in [base·2ⁿ/2, base·2ⁿ], capped, so a fleet
/// that lost its control plane does not reconnect in lockstep. Reset after a connection stayed up long enough.
/// </summary>
internal sealed class ReconnectBackoff(TimeSpan initial, TimeSpan max, TimeSpan stableAfter, Random random)
{
    private int _attempt;

    public ReconnectBackoff() : this(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(30), Random.Shared)
    {
    }

    /// <summary>The delay before the next attempt; each call without <see cref="Reset"/> doubles the ceiling.</summary>
    public TimeSpan Next()
    {
        var ceiling = Math.Min(max.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, Math.Min(_attempt, 30)));
        _attempt++;
        return TimeSpan.FromMilliseconds(ceiling / 2 + random.NextDouble() * ceiling / 2);
    }

    /// <summary>Called when a connection ends: if it lasted <c>stableAfter</c> or more, start over from the initial delay.</summary>
    public void ConnectionEnded(TimeSpan connectedFor)
    {
        if (connectedFor >= stableAfter) Reset();
    }

    public void Reset() => _attempt = 0;
}
