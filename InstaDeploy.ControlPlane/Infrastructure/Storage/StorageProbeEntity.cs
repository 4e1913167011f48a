namespace InstaDeploy.ControlPlane.Infrastructure.Storage;

/// <summary>The one row the storage health check writes, to find out whether the database can be written now.</summary>
public sealed class StorageProbeEntity
{
    public int Id { get; set; }
    public DateTimeOffset At { get; set; }
}
