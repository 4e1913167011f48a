namespace InstaDeploy.ControlPlane.Audit;

/// <summary>
/// Whether the domain operation a request called recorded its own audit entry: the audit endpoint filter then records
/// nothing more; when the request was refused before any operation ran (a malformed field, an unknown id), it records
/// the refusal itself. Flows with the request's async calls.
/// </summary>
internal static class AuditScope
{
    private static readonly AsyncLocal<Holder?> Current = new();

    internal sealed class Holder
    {
        public bool Recorded;
    }

    public static Holder Begin() => Current.Value = new Holder();

    public static void MarkRecorded()
    {
        if (Current.Value is { } holder) holder.Recorded = true;
    }
}
