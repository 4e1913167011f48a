using InstaDeploy.ControlPlane.ApiKeys;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Backups;

public static class BackupsApi
{
    public const string ContentType = "application/vnd.sqlite3";

    public static IEndpointRouteBuilder MapBackupsApi(this IEndpointRouteBuilder app)
    {
        // One backup at a time per control plane: each is a full copy of the database on its disk while it streams.
        var gate = new SemaphoreSlim(1, 1);
        app.MapPost("/admin/backup", (IOptions<ControlPlaneOptions> options, Data.Database database, TimeProvider time, HttpContext context, ILoggerFactory loggers, Audit.AuditLog audit, CancellationToken cancellationToken) =>
                database.IsPostgres
                    ? Task.FromResult<IResult>(Problems.Conflict("The store is PostgreSQL",
                        "This control plane keeps its data in PostgreSQL, which this endpoint does not copy: back it up with pg_dump or the server's base backups and WAL archive (docs/SCALING.md)."))
                    : DownloadAsync(gate, options.Value, time, context, loggers.CreateLogger(typeof(BackupsApi).FullName!), audit, cancellationToken))
            .Audited(Audit.AuditActions.Backup)
            .WithTags("Backups")
            .RequireAuthorization(ApiKeyScopes.Admin)
            .RequireRateLimiting(RateLimits.PerKey)
            .WithName("BackupDatabase")
            .WithSummary("Download a backup of the database")
            .WithDescription("A consistent copy of the SQLite database (VACUUM INTO), taken while the control plane runs, as a file download (application/vnd.sqlite3). It holds jobs, revisions, API key hashes and secret values encrypted; the key ring that decrypts them is never sent: back it up apart (InstaDeploy.ControlPlane backup --keys-to). 409 while another backup is being made, and on a control plane whose store is PostgreSQL. Needs the admin scope.")
            .Produces(StatusCodes.Status200OK, contentType: ContentType)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<IResult> DownloadAsync(SemaphoreSlim gate, ControlPlaneOptions options, TimeProvider time, HttpContext context, ILogger logger, Audit.AuditLog audit, CancellationToken cancellationToken)
    {
        if (!await gate.WaitAsync(TimeSpan.Zero, cancellationToken))
            return Problems.Conflict("A backup is being made", "Another backup of the database is being made right now; try again when it is done.");
        var folder = Path.GetDirectoryName(options.DatabasePath)!;
        var temporary = Path.Combine(folder, $".backup-{Guid.NewGuid():N}.db");
        try
        {
            // Left over by a crash mid-download (none is in use: only one backup runs at a time).
            foreach (var stale in Directory.EnumerateFiles(folder, ".backup-*.db")) File.Delete(stale);
            var started = time.GetTimestamp();
            var backup = await DatabaseBackup.WriteAsync(options.DatabasePath, temporary, cancellationToken);
            logger.BackupMade(context.User.FindFirst(ApiKeyAuthenticationHandler.KeyIdClaim)?.Value ?? "?", backup.Bytes, backup.Schema ?? "none", time.GetElapsedTime(started).TotalMilliseconds);
            await audit.RecordAsync(Audit.AuditActor.Of(context.User), Audit.AuditActions.Backup, "database", Audit.AuditOutcomes.Succeeded, 200, $"{backup.Bytes} bytes", new { schema = backup.Schema });
            // Deleted once sent, or when the client goes away: the server never keeps a copy.
            var stream = new FileStream(temporary, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
            context.Response.RegisterForDisposeAsync(stream);
            context.Response.RegisterForDispose(new Releaser(gate));
            return TypedResults.File(stream, ContentType, $"instadeploy-{time.GetUtcNow().UtcDateTime:yyyyMMdd'T'HHmmss'Z'}.db");
        }
        catch
        {
            File.Delete(temporary);
            gate.Release();
            throw;
        }
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
