using System.Collections.Concurrent;
using System.Security.Cryptography;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.ApiKeys;

/// <summary>API keys: created with 256 random bits, stored as their SHA-256 only, looked up by that hash.</summary>
public sealed class ApiKeyStore(IDbContextFactory<InstaDeployDbContext> databases, Audit.AuditLog audit, TimeProvider time)
{
    public const string Prefix = "idk_";

    // Keys that authenticated, by hash: every REST request presents a key, and looking it up was a database read on
    // each one. Only this store changes keys (in this one process), and a revocation drops the key from here before it
    // returns, so a revoked key still fails on the next request; expiry is checked on every use.
    private readonly ConcurrentDictionary<string, ApiKeyEntity> _authenticated = new(StringComparer.Ordinal);

    public static byte[] HashOf(string key) => Secrets.Hash(key);

    /// <summary>Creates a key; returns it with its plaintext, which is never stored or shown again.</summary>
    public async Task<(ApiKeyEntity Key, string Plaintext)> CreateAsync(string name, IEnumerable<string> scopes, DateTimeOffset? expiresAt, Audit.AuditActor actor, CancellationToken cancellationToken, bool hostAccess = false)
    {
        var plaintext = Secrets.New(Prefix);
        var key = await AddAsync(name, scopes, HashOf(plaintext), expiresAt, actor, cancellationToken, hostAccess);
        return (key, plaintext);
    }

    /// <summary>Stores a key. <paramref name="hostAccess"/> matters for deploy keys only: an admin key always has it.</summary>
    public async Task<ApiKeyEntity> AddAsync(string name, IEnumerable<string> scopes, byte[] hash, DateTimeOffset? expiresAt, Audit.AuditActor actor, CancellationToken cancellationToken, bool hostAccess = false)
    {
        var scopeList = scopes.ToList();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var key = new ApiKeyEntity
        {
            Id = Secrets.NewId("key_"),
            Name = name,
            Scopes = string.Join(',', scopeList),
            HostAccess = hostAccess || scopeList.Contains(ApiKeyScopes.Admin),
            Hash = hash,
            CreatedAt = time.GetUtcNow(),
            ExpiresAt = expiresAt,
        };
        db.ApiKeys.Add(key);
        audit.Add(db, actor, Audit.AuditActions.ApiKeyCreate, $"api_key:{key.Id}", Audit.AuditOutcomes.Succeeded, 201, "",
            new { key.Name, scopes = scopeList, expires_at = expiresAt, host_access = key.HostAccess });
        await db.SaveChangesAsync(cancellationToken);
        return key;
    }

    /// <summary>The key presented, if it exists, is not revoked and has not expired.</summary>
    public async Task<ApiKeyEntity?> AuthenticateAsync(string presented, CancellationToken cancellationToken)
    {
        var hash = HashOf(presented);
        var cacheKey = Convert.ToHexString(hash);
        if (_authenticated.TryGetValue(cacheKey, out var known)) return IsActive(known) ? known : null;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var key = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Hash == hash, cancellationToken);
        if (key is null || !CryptographicOperations.FixedTimeEquals(key.Hash, hash)) return null;
        if (!IsActive(key)) return null;
        _authenticated[cacheKey] = key;
        return key;
    }

    /// <summary>The key with this id, if it exists, is not revoked and has not expired (a console session's key,
    /// checked again on each of its requests).</summary>
    public async Task<ApiKeyEntity?> FindActiveAsync(string id, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var key = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Id == id, cancellationToken);
        return key is not null && IsActive(key) ? key : null;
    }

    /// <summary>Checks and creates a key: a name of 1-100 printable characters, known scopes, an expiry in the future.
    /// Returns it with its plaintext, or why not (nothing is created).</summary>
    public async Task<(ApiKeyEntity? Key, string? Plaintext, Jobs.Submission.CommandRefusal? Refusal)> TryCreateAsync(
        string? name, IReadOnlyCollection<string>? scopes, DateTimeOffset? expiresAt, bool hostAccess, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100 || name.Any(char.IsControl))
            return (null, null, Jobs.Submission.CommandRefusal.Invalid("name", "is required: 1-100 printable characters saying what the key is for"));
        if (scopes is not { Count: > 0 } || scopes.Any(s => !ApiKeyScopes.All.Contains(s)))
            return (null, null, Jobs.Submission.CommandRefusal.Invalid("scopes", $"must list one or more of {string.Join(", ", ApiKeyScopes.All)}"));
        if (expiresAt is { } expiry && expiry <= time.GetUtcNow())
            return (null, null, Jobs.Submission.CommandRefusal.Invalid("expires_at", "must be in the future"));
        var (key, plaintext) = await CreateAsync(name.Trim(), scopes.Distinct().Order(StringComparer.Ordinal), expiresAt, actor, cancellationToken, hostAccess);
        return (key, plaintext, null);
    }

    public bool IsActive(ApiKeyEntity key) => key.RevokedAt is null && (key.ExpiresAt is null || key.ExpiresAt > time.GetUtcNow());

    public async Task<List<ApiKeyEntity>> ListAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.ApiKeys.AsNoTracking().OrderBy(k => k.CreatedAt).ThenBy(k => k.Id).ToListAsync(cancellationToken);
    }

    /// <summary>One page of keys oldest first, after the position <paramref name="after"/> (created at, id), through the
    /// (CreatedAt, Id) index.</summary>
    public async Task<List<ApiKeyEntity>> ListPageAsync(int limit, string[]? after, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.ApiKeys.AsNoTracking();
        if (after is not null)
        {
            var (at, id) = (Infrastructure.PageCursor.Time(after[0]), after[1]);
#pragma warning disable CA1309 // EF Core translates this overload to the database's comparison; the ordinal one has no translation
            query = query.Where(k => k.CreatedAt > at || (k.CreatedAt == at && string.Compare(k.Id, id) > 0));
#pragma warning restore CA1309
        }
        return await query.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id).Take(limit).ToListAsync(cancellationToken);
    }

    /// <summary>Revokes a key; false if there is no such key. Takes effect on the next request.</summary>
    public async Task<bool> RevokeAsync(string id, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id, cancellationToken);
        if (key is null) return false;
        key.RevokedAt ??= time.GetUtcNow();
        audit.Add(db, actor, Audit.AuditActions.ApiKeyRevoke, $"api_key:{key.Id}", Audit.AuditOutcomes.Succeeded, 204, "", new { key.Name });
        await db.SaveChangesAsync(cancellationToken);
        _authenticated.TryRemove(Convert.ToHexString(key.Hash), out _);
        return true;
    }
}
