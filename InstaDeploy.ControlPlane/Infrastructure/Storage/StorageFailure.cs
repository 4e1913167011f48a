using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace InstaDeploy.ControlPlane.Infrastructure.Storage;

/// <summary>Why the database could not be used, in words an operator can act on.</summary>
/// <param name="Kind">disk_full, read_only, locked, io_error, cannot_open or unavailable.</param>
/// <param name="Title">What happened.</param>
/// <param name="Detail">What to do about it.</param>
public sealed record StorageFailure(string Kind, string Title, string Detail)
{
    // SQLite's primary result codes (https://sqlite.org/rescode.html); extended codes keep them in the low byte.
    private const int SqliteBusy = 5, SqliteLocked = 6, SqliteReadOnly = 8, SqliteIoError = 10, SqliteFull = 13, SqliteCantOpen = 14;
    private const int Enospc = 28, Erofs = 30, ErrorDiskFull = 112, ErrorHandleDiskFull = 39;

    public static readonly StorageFailure DiskFull = new("disk_full", "The database cannot be written: the disk is full",
        "The file system of INSTADEPLOY_DATA_DIR has no space left, so nothing was changed. Free space on it (old backups, logs, images of a Docker engine on the same disk); the control plane recovers by itself once its writes succeed again, and this request can then be retried.");

    public static readonly StorageFailure ReadOnly = new("read_only", "The database cannot be written: it is read-only",
        "The database in INSTADEPLOY_DATA_DIR (instadeploy.db and its -wal and -shm files) or its file system is read-only, so nothing was changed. Remount the file system read-write, or give the control plane's user write access to the folder and the files; the control plane recovers by itself, and this request can then be retried.");

    public static readonly StorageFailure Locked = new("locked", "The database is locked",
        "Another process held the database's write lock longer than the control plane waits (30 s): a sqlite3 shell or a tool with an open transaction on INSTADEPLOY_DATA_DIR/instadeploy.db, or a second control plane on the same file. Nothing was changed. End that process (only one control plane may use a database file); then retry.");

    public static readonly StorageFailure IoError = new("io_error", "The database's disk failed",
        "Reading or writing INSTADEPLOY_DATA_DIR failed with an I/O error, so nothing was changed. Check the disk (the kernel log, dmesg) and the file system's free space; the control plane recovers by itself once its writes succeed again.");

    public static readonly StorageFailure CannotOpen = new("cannot_open", "The database cannot be opened",
        "The database file in INSTADEPLOY_DATA_DIR cannot be opened (the folder was removed or unmounted, or is not accessible to the control plane's user). Nothing was changed. Make the folder available again; the control plane recovers by itself.");

    public static readonly StorageFailure Unavailable = new("unavailable", "The database is unreachable",
        "The database server did not answer or refused the connection, so nothing was changed. Check that it runs and is reachable from the control plane; the control plane recovers by itself once it answers.");

    /// <summary>Space under which an I/O error of the database is taken for a full disk.</summary>
    public const long NearlyFullBytes = 1024 * 1024;

    /// <summary>
    /// <paramref name="failure"/>, or <see cref="DiskFull"/> when it is an I/O error and the file system of
    /// <paramref name="folder"/> has (next to) no space left: SQLite reports a full disk met while growing its shared
    /// memory or WAL file as SQLITE_IOERR, not SQLITE_FULL, and the operator should be told what to do about it.
    /// </summary>
    public static StorageFailure Refine(StorageFailure failure, string folder)
    {
        if (failure != IoError) return failure;
        try
        {
            return new DriveInfo(Path.GetFullPath(folder)).AvailableFreeSpace < NearlyFullBytes ? DiskFull : failure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return failure;
        }
    }

    /// <summary>The storage failure behind <paramref name="exception"/> (or an exception it wraps), or null when it is none.</summary>
    public static StorageFailure? Classify(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < 16; depth++, exception = exception.InnerException)
        {
            switch (exception)
            {
                case SqliteException sqlite:
                    switch (sqlite.SqliteErrorCode & 0xFF)
                    {
                        case SqliteFull: return DiskFull;
                        case SqliteReadOnly: return ReadOnly;
                        case SqliteBusy or SqliteLocked: return Locked;
                        case SqliteIoError: return IoError;
                        case SqliteCantOpen: return CannotOpen;
                    }
                    return null;
                case IOException io when (io.HResult & 0xFFFF) is Enospc or ErrorDiskFull or ErrorHandleDiskFull
                    || io.Message.Contains("No space left on device", StringComparison.Ordinal):
                    return DiskFull;
                case IOException io when (io.HResult & 0xFFFF) == Erofs || io.Message.Contains("Read-only file system", StringComparison.Ordinal):
                    return ReadOnly;
                case DbException { IsTransient: true }:
                    return Unavailable; // a database server (PostgreSQL) that is down or unreachable
                case AggregateException { InnerExceptions.Count: > 0 } aggregate:
                    return Classify(aggregate.InnerExceptions[0]);
            }
        }
        return null;
    }
}
