using System.Text.Json;
using InstaDeploy.ControlPlane.Agents;
using InstaDeploy.ControlPlane.ApiKeys;
using InstaDeploy.ControlPlane.Audit;
using InstaDeploy.ControlPlane.Cluster;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Deployments;
using InstaDeploy.ControlPlane.Hub;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Registries;
using InstaDeploy.ControlPlane.Rollouts;
using InstaDeploy.ControlPlane.Webhooks;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Infrastructure;

public static class ControlPlaneExtensions
{
    public static WebApplicationBuilder AddControlPlane(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ControlPlaneOptions>()
            .Bind(builder.Configuration)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ControlPlaneOptions>, ControlPlaneOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);

        services.AddDatabase(builder.Configuration);
        services.AddCluster(builder.Configuration);

        // Secret variables are encrypted with Data Protection; its key ring persists in INSTADEPLOY_KEY_RING_DIR (owner-only),
        // read when first needed (after the start-up check of the options), never during the app's build.
        services.AddDataProtection().SetApplicationName("InstaDeploy");
        services.AddOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>()
            .Configure<IOptions<ControlPlaneOptions>, ILoggerFactory>((keys, options, loggers) =>
            {
                var folder = options.Value.KeyRingPath;
                if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
                else Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                keys.XmlRepository = new Microsoft.AspNetCore.DataProtection.Repositories.FileSystemXmlRepository(new DirectoryInfo(folder), loggers);
            });

        services.AddSingleton<ApiKeyStore>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiKeyScopes.Read, policy => policy.RequireClaim(ApiKeyAuthenticationHandler.ScopeClaim, ApiKeyScopes.Read))
            .AddPolicy(ApiKeyScopes.Deploy, policy => policy.RequireClaim(ApiKeyAuthenticationHandler.ScopeClaim, ApiKeyScopes.Deploy))
            .AddPolicy(ApiKeyScopes.Admin, policy => policy.RequireClaim(ApiKeyAuthenticationHandler.ScopeClaim, ApiKeyScopes.Admin));
        services.AddSingleton<UnauthenticatedThrottle>();
        services.AddSingleton<StreamLimits>();
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(RateLimits.PerKey, context =>
            {
                var perSecond = context.RequestServices.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.RateLimitPerSecond;
                var partition = context.User.FindFirst(ApiKeyAuthenticationHandler.KeyIdClaim)?.Value
                    ?? "ip:" + context.Connection.RemoteIpAddress;
                return System.Threading.RateLimiting.RateLimitPartition.GetTokenBucketLimiter(partition, _ => new System.Threading.RateLimiting.TokenBucketRateLimiterOptions
                {
                    TokenLimit = perSecond * 2,
                    TokensPerPeriod = perSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                });
            });
            limiter.OnRejected = RateLimits.RejectAsync;
        });
        // A client that trickles its headers (a slow WebSocket handshake included) is cut off, not waited for.
        // Read from configuration, not the validated options: Kestrel's options are built with the app, before the
        // start-up check that reports a missing AGENT_SECRET_TOKEN cleanly.
        services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>()
            .Configure<IConfiguration>((kestrel, configuration) =>
                kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(Math.Clamp(configuration.GetValue("INSTADEPLOY_HANDSHAKE_TIMEOUT_SECONDS", 10), 1, 600)));
        services.AddSingleton<AgentConnectionRegistry>();
        services.AddSingleton<Jobs.Delivery.IAgentLinks>(sp => sp.GetRequiredService<AgentConnectionRegistry>());
        services.AddSingleton<ControlPlaneMetrics>();
        services.AddSingleton<AgentTokenValidator>();
        services.AddSingleton<AgentStore>();
        services.AddSingleton<AgentQueries>();
        services.AddSingleton<AgentMetricsStore>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentMetricsStore>());
        services.AddSingleton<AgentCredentials>();
        services.AddJobs();
        services.AddDeployments();
        services.AddRollouts();
        services.AddSingleton<Releases.BundleStore>();
        services.AddSingleton<Releases.BundleCommands>();
        services.AddSingleton<Jobs.IJobLifecycleHook, Releases.AgentUpdateRecorder>();
        services.AddSingleton<Releases.BundleRollouts>();
        services.AddAudit();
        services.AddRegistries();
        services.AddWebhooks();
        services.AddHostedService<AgentLivenessService>();

        services.Configure<JsonOptions>(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.MaxDepth = 32;
        });
        // Always throw on unreadable requests so BadRequestExceptionHandler can say what was wrong.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails();
        services.AddExceptionHandler<Storage.StorageFailureExceptionHandler>();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddSingleton<Storage.StorageHealth>();
        services.AddSingleton<Storage.StorageHealthCheck>();
        services.AddHealthChecks().AddCheck<Storage.StorageHealthCheck>("storage");
        services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "InstaDeploy control plane";
            document.Info.Description = "Deploy Docker Compose applications to a fleet of agents. Every command answers 202 with a job; follow it at GET /jobs/{job_id}. Every endpoint needs 'Authorization: Bearer <api key>' with the scope it names (read, deploy or admin).";
            document.Components ??= new Microsoft.OpenApi.OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, Microsoft.OpenApi.IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["bearer"] = new Microsoft.OpenApi.OpenApiSecurityScheme
            {
                Type = Microsoft.OpenApi.SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An InstaDeploy API key (idk_…). The first admin key is INSTADEPLOY_ADMIN_API_KEY, or the one printed at the first start.",
            };
            document.Security ??= [];
            document.Security.Add(new Microsoft.OpenApi.OpenApiSecurityRequirement { [new Microsoft.OpenApi.OpenApiSecuritySchemeReference("bearer", document)] = [] });
            return Task.CompletedTask;
        }));
        return builder;
    }

    /// <summary>Creates the data folder and database, and applies pending migrations, before the app serves anything.</summary>
    public static async Task MigrateDatabaseAsync(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ControlPlaneOptions>>().Value;
        var database = app.Services.GetRequiredService<Database>();
        // Owner-only: the database holds key hashes, encrypted secrets and every job's output (on PostgreSQL the folder
        // still holds the key ring and the projects' files).
        var folder = Path.GetDirectoryName(options.DatabasePath)!;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
        else Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (!database.IsPostgres) await Data.SqliteFiles.CreateWithIncrementalVacuumAsync(database, CancellationToken.None);
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<InstaDeployDbContext>>().CreateDbContextAsync();
        // On PostgreSQL several instances may start at once: EF Core takes a lock in the database while it migrates.
        await db.Database.MigrateAsync();
        if (!database.IsPostgres)
        {
            // SQLite creates its -wal and -shm files with the database file's mode, so the database file decides.
            if (!OperatingSystem.IsWindows())
                foreach (var file in new[] { options.DatabasePath, options.DatabasePath + "-wal", options.DatabasePath + "-shm" })
                    if (File.Exists(file)) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            // WAL lets the REST API read while the hub writes, and survives a crash without a torn database.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
        }
        app.Logger.DatabaseReady(database.Name);
        if (database.IsPostgres) app.Logger.InstanceStarted(app.Services.GetRequiredService<ClusterIdentity>().Id, database.Name);
    }
}
