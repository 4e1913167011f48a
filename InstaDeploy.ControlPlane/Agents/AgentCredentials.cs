using System.Security.Cryptography;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>
/// Per-agent identity. An admin issues an enrollment token (short expiry, limited uses); an agent trades it once for
/// its own agent key, bound to its id. From then on only that key authenticates that id; revoking the agent
/// disconnects it at once and refuses it afterwards. The seed's shared AGENT_SECRET_TOKEN keeps working for agents
/// that never enrolled, unless INSTADEPLOY_SHARED_AGENT_TOKEN=false. Tokens and keys are stored as SHA-256 only.
/// </summary>
public sealed class AgentCredentials(
    IDbContextFactory<InstaDeployDbContext> databases,
    AgentTokenValidator sharedToken,
    Jobs.Delivery.IAgentLinks links,
    IOptions<ControlPlaneOptions> options,
    TimeProvider time)
{
    public const string EnrollmentPrefix = "ide_";
    public const string AgentKeyPrefix = "ida_";

    private static byte[] HashOf(string secret) => Secrets.Hash(secret);

    public async Task<(EnrollmentTokenEntity Token, string Plaintext)> CreateEnrollmentTokenAsync(string name, TimeSpan lifetime, int uses, CancellationToken cancellationToken)
    {
        var plaintext = Secrets.New(EnrollmentPrefix);
        var now = time.GetUtcNow();
        var token = new EnrollmentTokenEntity
        {
            Id = Secrets.NewId("enr_"),
            Name = name,
            Hash = HashOf(plaintext),
            UsesLeft = uses,
            CreatedAt = now,
            ExpiresAt = now + lifetime,
        };
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        db.EnrollmentTokens.Add(token);
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

        var agent = await db.Agents.FirstOrDefaultAsync(a => a.Id == agentId, cancellationToken);
        if (agent is { KeyHash: not null, RevokedAt: null })
            return (null, 409, $"Agent id '{agentId}' is already enrolled. Give this agent another AGENT_HOSTNAME, or revoke the other one first (POST /agents/{agentId}/revoke).");

        var key = Secrets.New(AgentKeyPrefix);
        if (agent is null)
        {
            agent = new AgentEntity { Id = agentId, Hostname = agentId, FirstSeen = now, LastSeen = now };
            db.Agents.Add(agent);
        }
        agent.KeyHash = HashOf(key);
        agent.RevokedAt = null;
        token.UsesLeft--;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (key, 200, null);
    }

    /// <summary>Checks an agent's handshake: its own key for its id, or (if allowed and it never enrolled) the shared token.</summary>
    public async Task<string?> AuthenticateAsync(string? authorizationHeader, string agentId, CancellationToken cancellationToken)
    {
        const string scheme = "Bearer ";
        if (authorizationHeader is null || !authorizationHeader.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return "missing bearer token";
        var presented = authorizationHeader[scheme.Length..].Trim();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var agent = await db.Agents.AsNoTracking().FirstOrDefaultAsync(a => a.Id == agentId, cancellationToken);
        if (agent?.RevokedAt is not null) return "agent revoked";

        if (presented.StartsWith(AgentKeyPrefix, StringComparison.Ordinal))
        {
            var hash = HashOf(presented);
            return agent?.KeyHash is { } expected && CryptographicOperations.FixedTimeEquals(expected, hash) ? null : "unknown agent key for this agent id";
        }
        if (!options.Value.AllowSharedAgentToken) return "the shared agent token is switched off";
        if (agent?.KeyHash is not null) return "agent is enrolled and must use its own key";
        return sharedToken.IsValid(authorizationHeader) ? null : "wrong shared token";
    }

    /// <summary>Revokes an agent: its key stops working and its connection is closed now. False if unknown.</summary>
    public async Task<bool> RevokeAgentAsync(string agentId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var agent = await db.Agents.FirstOrDefaultAsync(a => a.Id == agentId, cancellationToken);
        if (agent is null) return false;
        agent.RevokedAt ??= time.GetUtcNow();
        agent.KeyHash = null;
        agent.Online = false;
        await db.SaveChangesAsync(cancellationToken);
        if (links.TryGet(agentId, out var link)) await link.DisconnectAsync("agent revoked");
        return true;
    }

    public async Task<List<EnrollmentTokenEntity>> ListEnrollmentTokensAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.EnrollmentTokens.AsNoTracking().OrderBy(t => t.CreatedAt).ToListAsync(cancellationToken);
    }

    public async Task<bool> RevokeEnrollmentTokenAsync(string id, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var token = await db.EnrollmentTokens.FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (token is null) return false;
        token.RevokedAt ??= time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }
}
