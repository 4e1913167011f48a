using InstaDeploy.Compose;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Agents;
using InstaDeploy.ControlPlane.Audit;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Registries;

/// <summary>
/// Registry logins, for every agent, one agent or the agents a selector matches. For one agent and one host, the
/// agent's own login wins over one for a selector it matches (the most recently set, when several match), which wins
/// over the one for every agent.
/// </summary>
public sealed class RegistryCredentialStore(IDbContextFactory<InstaDeployDbContext> databases, RegistryProtector protector, AuditLog audit, TimeProvider time)
{
    public static string ScopeOf(string? agentId, string? selector) =>
        agentId is { Length: > 0 } ? "agent:" + agentId : selector is { Length: > 0 } ? "selector:" + selector : "";

    /// <summary>Creates or replaces a login; the password is encrypted before it is stored. Audited in the same transaction.</summary>
    public async Task<RegistryCredentialEntity> SetAsync(string host, string username, string password, string? agentId, string? selector, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var scope = ScopeOf(agentId, selector);
        var now = time.GetUtcNow();
        var entry = await db.RegistryCredentials.FindAsync([host, scope], cancellationToken);
        var created = entry is null;
        entry ??= db.RegistryCredentials.Add(new RegistryCredentialEntity
        {
            Host = host, Scope = scope, AgentId = NullIfEmpty(agentId), Selector = NullIfEmpty(selector), Username = username, PasswordProtected = "", CreatedAt = now,
        }).Entity;
        entry.Username = username;
        entry.PasswordProtected = protector.ProtectPassword(password);
        entry.UpdatedAt = now;
        entry.UpdatedBy = actor.Name;
        audit.Add(db, actor, AuditActions.RegistrySet, $"registry:{host}", AuditOutcomes.Succeeded, 200, created ? "created" : "replaced",
            new { host, username, agent_id = NullIfEmpty(agentId), selector = NullIfEmpty(selector), password = "********" });
        await db.SaveChangesAsync(cancellationToken);
        return entry;
    }

    public async Task<List<RegistryCredentialEntity>> ListAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.RegistryCredentials.AsNoTracking().OrderBy(r => r.Host).ThenBy(r => r.Scope).ToListAsync(cancellationToken);
    }

    /// <summary>One page of logins by host then scope (the primary key), after the position <paramref name="after"/>.</summary>
    public async Task<List<RegistryCredentialEntity>> ListPageAsync(int limit, string[]? after, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.RegistryCredentials.AsNoTracking();
        if (after is not null)
        {
            var (host, scope) = (after[0], after[1]);
#pragma warning disable CA1309 // EF Core translates this overload to the database's comparison; the ordinal one has no translation
            query = query.Where(r => string.Compare(r.Host, host) > 0 || (r.Host == host && string.Compare(r.Scope, scope) > 0));
#pragma warning restore CA1309
        }
        return await query.OrderBy(r => r.Host).ThenBy(r => r.Scope).Take(limit).ToListAsync(cancellationToken);
    }

    public async Task<bool> DeleteAsync(string host, string? agentId, string? selector, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var entry = await db.RegistryCredentials.FindAsync([host, ScopeOf(agentId, selector)], cancellationToken);
        if (entry is null) return false;
        db.RegistryCredentials.Remove(entry);
        audit.Add(db, actor, AuditActions.RegistryDelete, $"registry:{host}", AuditOutcomes.Succeeded, 204, "",
            new { host, agent_id = NullIfEmpty(agentId), selector = NullIfEmpty(selector) });
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>The logins that apply to <paramref name="agentId"/>, one per host, for <paramref name="hosts"/> (every host when null), decrypted.</summary>
    public async Task<List<RegistryLogin>> ForAgentAsync(string agentId, IReadOnlySet<string>? hosts, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var all = await db.RegistryCredentials.AsNoTracking().ToListAsync(cancellationToken);
        if (hosts is not null) all = [.. all.Where(r => hosts.Contains(r.Host))];
        if (all.Count == 0) return [];
        IReadOnlyDictionary<string, string>? labels = null;
        if (all.Any(r => r.Selector is not null))
        {
            var agent = await db.Agents.AsNoTracking().FirstOrDefaultAsync(a => a.Id == agentId, cancellationToken);
            labels = agent?.Effective() ?? new Dictionary<string, string>();
        }
        var logins = new List<RegistryLogin>();
        foreach (var byHost in all.GroupBy(r => r.Host).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var chosen = byHost.FirstOrDefault(r => r.AgentId == agentId)
                ?? byHost.Where(r => r.Selector is not null && LabelSelector.Parse(r.Selector).Selector?.Matches(labels!) == true)
                    .OrderByDescending(r => r.UpdatedAt).FirstOrDefault()
                ?? byHost.FirstOrDefault(r => r.Scope.Length == 0);
            if (chosen is not null) logins.Add(new RegistryLogin(chosen.Host, chosen.Username, protector.UnprotectPassword(chosen.PasswordProtected)));
        }
        return logins;
    }

    /// <summary>
    /// A deploy's command with the logins its images need on <paramref name="agentId"/> (every login that applies to the
    /// agent when some image's registry cannot be known here, see <see cref="ImageReferences"/>), encrypted with its
    /// variables, and only for an agent that announced registry-auth.
    /// </summary>
    public async ValueTask<CommandBody> WithLoginsAsync(CommandBody body, string agentId, string yaml, IReadOnlyList<ProjectVariable> variables, CancellationToken cancellationToken)
    {
        if (body.Refusal is not null) return body;
        var (hosts, someUnknown) = ImageReferences.RegistryHosts(yaml, ComposeVariables.ControlPlane(variables.Select(v => KeyValuePair.Create(v.Name, v.Value))));
        var logins = await ForAgentAsync(agentId, someUnknown ? null : hosts, cancellationToken);
        if (logins.Count == 0) return body;
        return body with
        {
            SecretsProtected = protector.ProtectJobSecrets(body.SecretsProtected, logins),
            RequiredFeature = (HandshakeHeaders.FeatureRegistryAuth, CommandRefusal.Conflict("The agent cannot use registry logins",
                $"Agent '{agentId}' does not take registry logins (a seed-protocol agent, or an InstaDeploy agent older than them), so it is never sent the login for {string.Join(", ", logins.Select(l => l.Host))}. Upgrade the agent, or log in on that server by hand and scope the login to the other agents (PUT /registries/{{host}} with agent_id or selector).")),
        };
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
