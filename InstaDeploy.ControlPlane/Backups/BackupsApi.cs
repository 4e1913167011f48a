using InstaDeploy.ControlPlane.ApiKeys;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Backups;

public static class BackupsApi
{
    public const string ContentType = "application/vnd.sqlite3";

    /// <summary>A pg_dump archive (custom format), which has no registered media type.</summary>
    public const string PostgresContentType = "application/octet-stream";

    public static IEndpointRouteBuilder MapBackupsApi(this IEndpointRouteBuilder app)
    {
        // One backup at a time per control plane: each is a full copy of the database on its disk while it streams.
        var gate = new SemaphoreSlim(1, 1);
        app.MapPost("/admin/backup", (IOptions<ControlPlaneOptions> options, IConfiguration configuration, TimeProvider time, HttpContext context, ILoggerFactory loggers, Audit.AuditLog audit, CancellationToken cancellationToken) =>
                DownloadAsync(gate, options.Value, configuration[Data.DataExtensions.PostgresSetting], time, context, loggers.CreateLogger(typeof(BackupsApi).FullName!), audit, cancellationToken))
            .Audited(Audit.AuditActions.Backup)
            .WithTags("Backups")
            .RequireAuthorization(ApiKeyScopes.Admin)
            .RequireRateLimiting(RateLimits.PerKey)
            .WithName("BackupDatabase")
            .WithSummary("Download a backup of the database")
            .WithDescription("A consistent copy of the database, taken while the control plane runs, as a file download: on SQLite the database file (VACUUM INTO, application/vnd.sqlite3, instadeploy-<time>.db); on PostgreSQL a pg_dump archive in its custom format (application/octet-stream, instadeploy-<time>.pgdump, for pg_restore or the restore command). It holds jobs, revisions, API key hashes and secret values encrypted; the key ring that decrypts them is never sent: back it up apart (InstaDeploy.ControlPlane backup --keys-to). 409 while another backup is being made; 500 when pg_dump is missing, older than the server, or fails (the detail says why). Needs the admin scope.")
            .Produces(StatusCodes.Status200OK, responseType: null, contentType: ContentType, PostgresContentType)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status500InternalServerError);
        return app;
    }

    private static async Task<IResult> DownloadAsync(SemaphoreSlim gate, ControlPlaneOptions options, string? postgres, TimeProvider time, HttpContext context, ILogger logger, Audit.AuditLog audit, CancellationToken cancellationToken)
    {
        var store = DatabaseBackup.StoreFor(options, postgres);
        if (!await gate.WaitAsync(TimeSpan.Zero, cancellationToken))
            return Problems.Conflict("A backup is being made", "Another backup of the database is being made right now; try again when it is done.");
        var folder = Path.GetDirectoryName(options.DatabasePath)!;
        var temporary = Path.Combine(folder, $".backup-{Guid.NewGuid():N}{store.Extension}");
        try
        {
            if (await store.BackupProblemAsync(cancellationToken) is { } problem)
            {
                gate.Release();
                return Failed("The backup cannot be made", problem);
            }
            // Left over by a crash mid-download (none is in use: only one backup runs at a time).
            OwnerOnly.CreateFolder(folder);
            foreach (var stale in Directory.EnumerateFiles(folder, ".backup-*")) File.Delete(stale);
            var started = time.GetTimestamp();
            var backup = await store.WriteAsync(temporary, cancellationToken);
            logger.BackupMade(context.User.FindFirst(ApiKeyAuthenticationHandler.KeyIdClaim)?.Value ?? "?", backup.Bytes, backup.Schema ?? "none", time.GetElapsedTime(started).TotalMilliseconds);
            await audit.RecordAsync(Audit.AuditActor.Of(context.User), Audit.AuditActions.Backup, "database", Audit.AuditOutcomes.Succeeded, 200, $"{backup.Bytes} bytes", new { schema = backup.Schema });
            // Deleted once sent, or when the client goes away: the server never keeps a copy.
            var stream = new FileStream(temporary, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
            context.Response.RegisterForDisposeAsync(stream);
            context.Response.RegisterForDispose(new Releaser(gate));
            return TypedResults.File(stream, store.ContentType, $"instadeploy-{time.GetUtcNow().UtcDateTime:yyyyMMdd'T'HHmmss'Z'}{store.Extension}");
        }
        catch (Exception e) when (e is IOException or InvalidDataException or Npgsql.NpgsqlException)
        {
            // pg_dump's own words (bounded, the password masked), why a copy does not read back, or a full disk.
            File.Delete(temporary);
            gate.Release();
            return Failed("The backup failed", e.Message);
        }
        catch
        {
            File.Delete(temporary);
            gate.Release();
            throw;
        }
    }

    private static ProblemHttpResult Failed(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status500InternalServerError, title: title, detail: detail);

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
