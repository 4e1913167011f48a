using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>
/// A rollout's events are numbered (<c>LastEventSeq + 1</c>) by every transaction that changes it: a target's job created
/// or ended, a step, a pause. On SQLite the process's write gate runs those one at a time. On PostgreSQL writers do not
/// queue behind it, so each such transaction takes the rollout's row lock before it reads the rollout: concurrent ones
/// then follow each other instead of both taking the same number and one failing.
/// </summary>
internal static class RolloutLocks
{
    /// <summary>Locks the rollout's row for the caller's transaction (PostgreSQL; nothing on SQLite). Call it before
    /// reading the rollout or its targets in this context, so what is read is what the lock protects.</summary>
    public static async Task LockAsync(InstaDeployDbContext db, string rolloutId, CancellationToken cancellationToken)
    {
        if (!db.Database.IsNpgsql()) return;
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("A rollout's row lock lasts for a transaction: begin one before taking it.");
        await db.Database.ExecuteSqlAsync($"""SELECT 1 FROM "Rollouts" WHERE "Id" = {rolloutId} FOR UPDATE""", cancellationToken);
    }

    /// <summary>Begins a transaction holding the rollout's row lock (PostgreSQL); null on SQLite, where the write gate
    /// already serialises the caller.</summary>
    public static async Task<IDbContextTransaction?> BeginLockedAsync(InstaDeployDbContext db, string rolloutId, CancellationToken cancellationToken)
    {
        if (!db.Database.IsNpgsql()) return null;
        var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await LockAsync(db, rolloutId, cancellationToken);
        return transaction;
    }
}
