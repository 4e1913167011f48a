namespace InstaDeploy.ControlPlane.Cluster;

public static class ClusterExtensions
{
    /// <summary>What lets several instances share one PostgreSQL store (each part does nothing on SQLite).</summary>
    public static IServiceCollection AddCluster(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(ClusterIdentity.From(configuration));
        services.AddSingleton<ClusterSignals>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterSignals>());
        services.AddHostedService<ClusterDelivery>();
        services.AddHostedService<ClusterEvents>();
        services.AddSingleton<ClusterLeader>();
        services.AddHostedService<ClusterPresence>();
        return services;
    }
}
