using System.Security.Cryptography;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>
/// Per-agent identity. An admin issues an enrollment token (short expiry, limited uses, optionally for one agent id); an
/// agent trades it once for its own agent key, bound to its id. An InstaDeploy agent that connects with the shared
/// token instead is issued its own key on that first connection (trust on first use). Either way, from then on only
/// that key authenticates that id; revoking the agent disconnects it at once and refuses it afterwards, until an admin
/// restores it. The seed's shared AGENT_SECRET_TOKEN keeps working for agents that never got a key, unless
/// INSTADEPLOY_SHARED_AGENT_TOKEN=false. Tokens and keys are stored as SHA-256 only.
/// </summary>
public sealed class AgentCredentials(
    IDbContextFactory<InstaDeployDbContext> databases,
    AgentTokenValidator sharedToken,
    Jobs.Delivery.IAgentLinks links,
    IOptions<ControlPlaneOptions> options,
    Audit.AuditLog audit,
    TimeProvider time)
{
    public const string EnrollmentPrefix = "ide_";
    public const string AgentKeyPrefix = "ida_";

    /// <summary>A new agent key (shown to its agent once, stored as its hash).</summary>
    public static string NewAgentKey() => Secrets.New(AgentKeyPrefix);

    private static byte[] HashOf(string secret) => Secrets.Hash(secret);

    /// <summary>Checks and creates an enrollment token: a name of 1-100 printable characters, 60 s to 7 days, 1 to 1000
    /// uses, an optional valid agent id. Returns it with its plaintext, or why not (nothing is created).</summary>
    public async Task<(EnrollmentTokenEntity? Token, string? Plaintext, Jobs.Submission.CommandRefusal? Refusal)> TryCreateEnrollmentTokenAsync(
        string? name, int? expiresInSeconds, int? uses, string? agentId, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100 || name.Any(char.IsControl))
            return (null, null, Jobs.Submission.CommandRefusal.Invalid("name", "is required: 1-100 printable characters"));
        if (expiresInSeconds is < 60 or > 604_800) return (null, null, Jobs.Submission.CommandRefusal.Invalid("expires_in_seconds", "must be between 60 and 604800 (7 days)"));
        if (uses is < 1 or > 1000) return (null, null, Jobs.Submission.CommandRefusal.Invalid("uses", "must be between 1 and 1000"));
        if (agentId is not null && !Contracts.AgentIds.IsValid(agentId))
            return (null, null, Jobs.Submission.CommandRefusal.Invalid("agent_id", "must be 1-253 letters, digits, '.', '_' or '-', starting with a letter or digit"));
        var (token, plaintext) = await CreateEnrollmentTokenAsync(name.Trim(), TimeSpan.FromSeconds(expiresInSeconds ?? 3600), uses ?? 1, agentId, actor, cancellationToken);
        return (token, plaintext, null);
    }

    public async Task<(EnrollmentTokenEntity Token, string Plaintext)> CreateEnrollmentTokenAsync(string name, TimeSpan lifetime, int uses, string? agentId, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        var plaintext = Secrets.New(EnrollmentPrefix);
        var now = time.GetUtcNow();
        var token = new EnrollmentTokenEntity
        {
            Id = Secrets.NewId("enr_"),
            Name = name,
            Hash = HashOf(plaintext),
            UsesLeft = uses,
            AgentId = agentId,
            CreatedAt = now,
            ExpiresAt = now + lifetime,
        };
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        db.EnrollmentTokens.Add(token);
        audit.Add(db, actor, Audit.AuditActions.EnrollmentTokenCreate, $"enrollment_token:{token.Id}", Audit.AuditOutcomes.Succeeded, 201, "",
            new { name, uses, agent_id = agentId, expires_at = token.ExpiresAt });
        await db.SaveChangesAsync(cancellationToken);
        return (token, plaintext);
    }

    /// <summary>Whether <paramref name="bearer"/> is an enrollment token that can still be used.</summary>
    public async Task<bool> IsUsableEnrollmentTokenAsync(string? bearer, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(bearer)) return false;
        var hash = HashOf(bearer);
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.EnrollmentTokens.AnyAsync(t => t.Hash == hash && t.RevokedAt == null && t.ExpiresAt > now && t.UsesLeft > 0, cancellationToken);
    }

    /// <summary>Trades an enrollment token for an agent key; returns the key, or why it was refused.</summary>
    public async Task<(string? AgentKey, int Status, string? Problem)> EnrollAsync(string? bearer, string agentId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(bearer)) return (null, 401, "Send 'Authorization: Bearer <enrollment token>' from POST /enrollment-tokens.");
        var hash = HashOf(bearer);
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var token = await db.EnrollmentTokens.FirstOrDefaultAsync(t => t.Hash == hash, cancellationToken);
        if (token is null || token.RevokedAt is not null || token.ExpiresAt <= now || token.UsesLeft <= 0)
            return (null, 401, "The enrollment token is unknown, revoked, expired or used up. Ask an admin for a new one (POST /enrollment-tokens).");
        if (token.AgentId is not null && token.AgentId != agentId)
            return (null, 403, $"This enrollment token is for agent '{token.AgentId}' only. Start the agent with AGENT_HOSTNAME={token.AgentId}, or ask an admin for a token for '{agentId}'.");

        var agent = await db.Agents.FirstOrDefaultAsync(a => a.Id == agentId, cancellationToken);
        if (agent?.RevokedAt is not null)
            return (null, 409, $"Agent id '{agentId}' was revoked. An admin must restore it first (POST /agents/{agentId}/restore); enrolling does not undo a revocation.");
        if (agent is { KeyHash: not null })
            return (null, 409, $"Agent id '{agentId}' already has its own key. Give this agent another AGENT_HOSTNAME, or revoke the other one first (POST /agents/{agentId}/revoke, then POST /agents/{agentId}/restore).");

        var key = NewAgentKey();
        if (agent is null)
        {
            agent = new AgentEntity { Id = agentId, Hostname = agentId, FirstSeen = now, LastSeen = now };
            db.Agents.Add(agent);
        }
        agent.KeyHash = HashOf(key);
        agent.PendingKeyHash = null;
        token.UsesLeft--;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (key, 200, null);
    }

    /// <summary>
    /// Checks an agent's handshake: its own key for its id (or the key it was just issued), or, if allowed and the id has
    /// no key yet, the shared token.
    /// </summary>
    public async Task<AgentAuthentication> AuthenticateAsync(string? authorizationHeader, string agentId, CancellationToken cancellationToken)
    {
        const string scheme = "Bearer ";
        if (authorizationHeader is null || !authorizationHeader.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return AgentAuthentication.Refused("missing bearer token");
        var presented = authorizationHeader[scheme.Length..].Trim();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var agent = await db.Agents.AsNoTracking().FirstOrDefaultAsync(a => a.Id == agentId, cancellationToken);
        if (agent?.RevokedAt is not null) return AgentAuthentication.Refused("agent revoked");

        if (presented.StartsWith(AgentKeyPrefix, StringComparison.Ordinal))
        {
            var hash = HashOf(presented);
            if (agent?.KeyHash is { } expected && CryptographicOperations.FixedTimeEquals(expected, hash)) return AgentAuthentication.WithKey(hash);
            // The key issued on its last connection: it stored it (its note may have been lost with the connection).
            if (agent?.PendingKeyHash is { } pending && CryptographicOperations.FixedTimeEquals(pending, hash) && await ConfirmKeyAsync(agentId, hash, cancellationToken))
                return AgentAuthentication.WithKey(hash);
            return AgentAuthentication.Refused("unknown agent key for this agent id");
        }
        if (!options.Value.AllowSharedAgentToken) return AgentAuthentication.Refused("the shared agent token is switched off");
        if (agent?.KeyHash is not null) return AgentAuthentication.Refused("agent has its own key and must use it");
        return sharedToken.IsValid(authorizationHeader) ? AgentAuthentication.Shared : AgentAuthentication.Refused("wrong shared token");
    }

    /// <summary>Records the key issued to an agent that came with the shared token and takes one (trust on first use),
    /// pending until the agent says it stored it (or presents it).</summary>
    public async Task IssueKeyAsync(string agentId, byte[] hash, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var agent = await db.Agents.FirstOrDefaultAsync(a => a.Id == agentId, cancellationToken);
        if (agent is null)
        {
            agent = new AgentEntity { Id = agentId, Hostname = agentId, FirstSeen = now, LastSeen = now };
            db.Agents.Add(agent);
        }
        agent.PendingKeyHash = hash;
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>The agent stored the key it was issued: from now on its id accepts that key alone.</summary>
    public async Task<bool> ConfirmKeyAsync(string agentId, byte[] hash, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Agents.Where(a => a.Id == agentId && a.PendingKeyHash == hash && a.KeyHash == null && a.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.KeyHash, hash).SetProperty(a => a.PendingKeyHash, (byte[]?)null), cancellationToken) == 1;
    }

    /// <summary>Lifts a revocation: the id may enroll (or, with the shared token, be issued a key) again. False if the
    /// agent is unknown or not revoked.</summary>
    public async Task<bool> RestoreAgentAsync(string agentId, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var agent = await db.Agents.FirstOrDefaultAsync(a => a.Id == agentId && a.RevokedAt != null, cancellationToken);
        if (agent is null) return false;
        agent.RevokedAt = null;
        audit.Add(db, actor, Audit.AuditActions.AgentRestore, $"agent:{agentId}", Audit.AuditOutcomes.Succeeded, 204);
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>Revokes an agent: its key stops working and its connection is closed now. False if unknown.</summary>
    public async Task<bool> RevokeAgentAsync(string agentId, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var agent = await db.Agents.FirstOrDefaultAsync(a => a.Id == agentId, cancellationToken);
        if (agent is null) return false;
        agent.RevokedAt ??= time.GetUtcNow();
        agent.KeyHash = null;
        agent.PendingKeyHash = null;
        agent.Online = false;
        audit.Add(db, actor, Audit.AuditActions.AgentRevoke, $"agent:{agentId}", Audit.AuditOutcomes.Succeeded, 204);
        await db.SaveChangesAsync(cancellationToken);
        if (links.TryGet(agentId, out var link)) await link.DisconnectAsync("agent revoked");
        return true;
    }

    public async Task<List<EnrollmentTokenEntity>> ListEnrollmentTokensAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.EnrollmentTokens.AsNoTracking().OrderBy(t => t.CreatedAt).ThenBy(t => t.Id).ToListAsync(cancellationToken);
    }

    /// <summary>One page of enrollment tokens oldest first, after the position <paramref name="after"/> (created at, id),
    /// through the (CreatedAt, Id) index.</summary>
    public async Task<List<EnrollmentTokenEntity>> ListEnrollmentTokensPageAsync(int limit, string[]? after, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.EnrollmentTokens.AsNoTracking();
        if (after is not null)
        {
            var (at, id) = (Infrastructure.PageCursor.Time(after[0]), after[1]);
#pragma warning disable CA1309 // EF Core translates this overload to the database's comparison; the ordinal one has no translation
            query = query.Where(t => t.CreatedAt > at || (t.CreatedAt == at && string.Compare(t.Id, id) > 0));
#pragma warning restore CA1309
        }
        return await query.OrderBy(t => t.CreatedAt).ThenBy(t => t.Id).Take(limit).ToListAsync(cancellationToken);
    }

    public async Task<bool> RevokeEnrollmentTokenAsync(string id, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var token = await db.EnrollmentTokens.FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (token is null) return false;
        token.RevokedAt ??= time.GetUtcNow();
        audit.Add(db, actor, Audit.AuditActions.EnrollmentTokenRevoke, $"enrollment_token:{id}", Audit.AuditOutcomes.Succeeded, 204, "", new { token.Name });
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }
}

/// <summary>How an agent's handshake authenticated, or why it was refused.</summary>
/// <param name="Refusal">Why it was refused; null when accepted.</param>
/// <param name="KeyHash">The hash of the agent's own key, when it presented one.</param>
public sealed record AgentAuthentication(string? Refusal, byte[]? KeyHash)
{
    /// <summary>The shared token: anyone who holds it presents the same credential.</summary>
    public static AgentAuthentication Shared { get; } = new(null, null);

    public static AgentAuthentication Refused(string reason) => new(reason, null);

    public static AgentAuthentication WithKey(byte[] hash) => new(null, hash);

    /// <summary>Whether it came with the shared token (a seed agent, or one that has no key of its own yet).</summary>
    public bool IsShared => Refusal is null && KeyHash is null;

    /// <summary>What a connection's credential is, compared when a second connection claims the same id: the key's
    /// hash, or the shared token.</summary>
    public static string Identity(byte[]? keyHash) => keyHash is null ? "shared" : "key:" + Convert.ToHexStringLower(keyHash);
}
