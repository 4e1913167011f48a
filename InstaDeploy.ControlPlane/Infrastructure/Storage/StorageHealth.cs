namespace InstaDeploy.ControlPlane.Infrastructure.Storage;

/// <summary>The last time the database could not be used, where, and why: set by whatever met the failure (a request,
/// the health check's probe), read by the health check.</summary>
public sealed class StorageHealth(TimeProvider time)
{
    /// <summary>A failure met.</summary>
    /// <param name="At">When.</param>
    /// <param name="Where">What met it, e.g. <c>POST /deploy</c> or <c>health probe</c>.</param>
    /// <param name="Failure">Why.</param>
    public sealed record Incident(DateTimeOffset At, string Where, StorageFailure Failure);

    private Incident? _last;

    public Incident? Last => Volatile.Read(ref _last);

    public void Record(string where, StorageFailure failure) => Volatile.Write(ref _last, new Incident(time.GetUtcNow(), where, failure));
}
