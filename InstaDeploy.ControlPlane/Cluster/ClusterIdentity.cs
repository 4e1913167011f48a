namespace InstaDeploy.ControlPlane.Cluster;

/// <summary>
/// This control-plane instance among those sharing one PostgreSQL database: INSTADEPLOY_INSTANCE_ID when set (say the
/// host name, for logs an operator can read), else one made at start. On SQLite there is only ever one instance.
/// </summary>
public sealed class ClusterIdentity(string id)
{
    public const string Setting = "INSTADEPLOY_INSTANCE_ID";

    public string Id { get; } = id;

    public static ClusterIdentity From(IConfiguration configuration)
    {
        var given = configuration[Setting];
        return new(string.IsNullOrWhiteSpace(given) ? $"{Environment.MachineName}-{Guid.NewGuid():N}" : given.Trim());
    }
}
