using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Audit;

/// <summary>Deletes audit entries older than INSTADEPLOY_AUDIT_RETENTION_DAYS (0 keeps them all), at start and every hour.</summary>
public sealed class AuditRetentionService(
    IDbContextFactory<InstaDeployDbContext> databases, IOptions<ControlPlaneOptions> options, TimeProvider time, ILogger<AuditRetentionService> logger) : BackgroundService
{
    public static readonly TimeSpan Every = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PruneAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.BackgroundTickFailed(e, nameof(AuditRetentionService));
            }
            try
            {
                await Task.Delay(Every, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Deletes what is past the retention; returns how many entries went.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var days = options.Value.AuditRetentionDays;
        if (days == 0) return 0;
        var cutoff = time.GetUtcNow() - TimeSpan.FromDays(days);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var deleted = await db.AuditLog.Where(e => e.At < cutoff).ExecuteDeleteAsync(cancellationToken);
        if (deleted > 0) logger.AuditPruned(deleted, days);
        return deleted;
    }
}

internal static partial class AuditRetentionLog
{
    [LoggerMessage(3102, LogLevel.Information, "Deleted {Count} audit entries older than {Days} days (INSTADEPLOY_AUDIT_RETENTION_DAYS)")]
    public static partial void AuditPruned(this ILogger logger, int count, int days);
}

public static class AuditExtensions
{
    public static IServiceCollection AddAudit(this IServiceCollection services)
    {
        services.AddSingleton<AuditLog>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, AuditForbiddenHandler>();
        services.AddSingleton<AuditRetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditRetentionService>());
        return services;
    }
}
