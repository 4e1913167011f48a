using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Data;

public static class DataExtensions
{
    /// <summary>The setting that puts the store on PostgreSQL (an Npgsql connection string); unset, it is SQLite.</summary>
    public const string PostgresSetting = "INSTADEPLOY_POSTGRES";

    /// <summary>
    /// The store: SQLite in the data folder by default, or the PostgreSQL database INSTADEPLOY_POSTGRES names, which several
    /// control-plane instances can share. Either way the code asks for <see cref="InstaDeployDbContext"/> and
    /// <see cref="Database"/>. Read from configuration here, not the validated options: the provider must be chosen while
    /// the services are registered.
    /// </summary>
    public static IServiceCollection AddDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        var postgres = configuration[PostgresSetting];
        if (string.IsNullOrWhiteSpace(postgres))
        {
            services.AddPooledDbContextFactory<InstaDeployDbContext>((sp, db) =>
            {
                var options = sp.GetRequiredService<IOptions<ControlPlaneOptions>>().Value;
                db.UseSqlite($"Data Source={options.DatabasePath};Pooling=True;Default Timeout=30");
                if (options.DatabaseSynchronous.Equals("NORMAL", StringComparison.OrdinalIgnoreCase))
                    db.AddInterceptors(SynchronousNormalInterceptor.Instance);
            });
            services.AddSingleton(sp => Database.Sqlite(sp.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.DatabasePath));
            // SQLite takes one writer at a time: writers queue here instead of sleeping on SQLITE_BUSY.
            services.AddSingleton(new DatabaseWriteGate(serialize: true));
        }
        else
        {
            services.AddPooledDbContextFactory<PostgresDbContext>(db => db.UseNpgsql(postgres));
            services.AddSingleton<IDbContextFactory<InstaDeployDbContext>, PostgresContextFactory>();
            services.AddScoped<InstaDeployDbContext>(sp => sp.GetRequiredService<PostgresDbContext>());
            services.AddSingleton(_ => Database.Postgres(postgres));
            // PostgreSQL takes concurrent writers (and other instances write too): nothing to queue for in this process.
            services.AddSingleton(new DatabaseWriteGate(serialize: false));
        }
        return services;
    }
}
