using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>
/// Encrypts secret variable values, and the variables a deploy carries, with ASP.NET Core Data Protection (AES-256-CBC +
/// HMACSHA256, keys in the persisted key ring, rotated every 90 days). The database only ever holds the protected form.
/// </summary>
public sealed class VariableProtector(IDataProtectionProvider provider)
{
    private readonly IDataProtector _values = provider.CreateProtector("InstaDeploy.ProjectVariables.Value.v1");
    private readonly IDataProtector _snapshots = provider.CreateProtector("InstaDeploy.ProjectVariables.Snapshot.v1");

    public string ProtectValue(string value) => _values.Protect(value);

    public string UnprotectValue(string protectedValue) => _values.Unprotect(protectedValue);

    /// <summary>The variables of one deploy, as one protected string (kept with the job and the revision). A variable is
    /// only ever in clear in memory, or in the command written to the agent's socket.</summary>
    public string ProtectSnapshot(IReadOnlyList<ProjectVariable> variables) =>
        _snapshots.Protect(JsonSerializer.Serialize(variables, VariablesJson.Default.IReadOnlyListProjectVariable));

    public IReadOnlyList<ProjectVariable> UnprotectSnapshot(string snapshot) =>
        JsonSerializer.Deserialize(_snapshots.Unprotect(snapshot), VariablesJson.Default.IReadOnlyListProjectVariable) ?? [];
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<ProjectVariable>))]
internal sealed partial class VariablesJson : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>A project's variables: project-wide ones, and per-agent ones that override them on that agent.</summary>
public sealed class ProjectVariableStore(IDbContextFactory<InstaDeployDbContext> databases, VariableProtector protector, Audit.AuditLog audit, TimeProvider time)
{
    public async Task<List<ProjectVariableEntity>> ListAsync(string projectName, string? agentId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.ProjectVariables.AsNoTracking().Where(v => v.ProjectName == projectName);
        if (agentId is not null) query = query.Where(v => v.AgentId == "" || v.AgentId == agentId);
        return await query.OrderBy(v => v.Name).ThenBy(v => v.AgentId).ToListAsync(cancellationToken);
    }

    /// <summary>
    /// Checks and stores one variable (project-wide, or for <paramref name="agentId"/> only): a valid project and name, a
    /// value compose v1 and v2 read back alike, at most <see cref="VariablesApi.MaxVariablesPerProject"/> per project, a
    /// known agent. Refused, nothing is stored.
    /// </summary>
    public async Task<(ProjectVariableEntity? Variable, Jobs.Submission.CommandRefusal? Refusal)> TrySetAsync(
        string projectName, string? agentId, string name, string? value, bool secret, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        if (DeployService.ValidateProject(projectName) is { } invalidProject) return (null, invalidProject);
        if (!EnvironmentVariables.IsValidName(name))
            return (null, Jobs.Submission.CommandRefusal.Invalid("name", $"'{(name.Length > 80 ? name[..80] + "…" : name)}' is not a valid variable name: use letters, digits and '_', not starting with a digit ({EnvironmentVariables.NamePattern})"));
        if (value is null) return (null, Jobs.Submission.CommandRefusal.Invalid("value", "is required (use \"\" for an empty value)"));
        if (EnvironmentVariables.ValueProblem(value) is { } problem) return (null, Jobs.Submission.CommandRefusal.Invalid("value", problem));
        var scope = agentId ?? "";
        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
        {
            if (await db.ProjectVariables.CountAsync(v => v.ProjectName == projectName, cancellationToken) >= VariablesApi.MaxVariablesPerProject
                && !await db.ProjectVariables.AnyAsync(v => v.ProjectName == projectName && v.AgentId == scope && v.Name == name, cancellationToken))
                return (null, Jobs.Submission.CommandRefusal.Conflict("Too many variables", $"Project '{projectName}' already has {VariablesApi.MaxVariablesPerProject} variables (per-agent ones included), the most a deploy carries; delete some first."));
            if (scope.Length > 0 && !await db.Agents.AnyAsync(a => a.Id == scope, cancellationToken))
                return (null, Jobs.Submission.CommandRefusal.NotFound("Unknown agent", $"No agent '{scope}' has ever connected, so a variable for it would never be used. GET /agents lists the known agents."));
        }
        return (await SetAsync(projectName, scope, name, value, secret, actor, cancellationToken), null);
    }

    /// <summary>Creates or replaces one variable; a secret value is encrypted before it is stored. Audited in the same
    /// transaction (a secret's value never: the entry says "********").</summary>
    public async Task<ProjectVariableEntity> SetAsync(string projectName, string agentId, string name, string value, bool secret, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var stored = secret ? protector.ProtectValue(value) : value;
        var variable = await db.ProjectVariables.FindAsync([projectName, agentId, name], cancellationToken);
        if (variable is null)
        {
            variable = new ProjectVariableEntity { ProjectName = projectName, AgentId = agentId, Name = name, Value = stored };
            db.ProjectVariables.Add(variable);
        }
        variable.Value = stored;
        variable.Secret = secret;
        variable.UpdatedAt = time.GetUtcNow();
        audit.Add(db, actor, Audit.AuditActions.VariableSet, $"project:{projectName} variable:{name}", Audit.AuditOutcomes.Succeeded, 200, "",
            new { project_name = projectName, name, agent_id = agentId.Length == 0 ? null : agentId, secret, value = secret ? VariablesApi.Masked : value.Length > 200 ? value[..200] + "…" : value });
        await db.SaveChangesAsync(cancellationToken);
        return variable;
    }

    public async Task<bool> DeleteAsync(string projectName, string agentId, string name, Audit.AuditActor actor, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var variable = await db.ProjectVariables.FindAsync([projectName, agentId, name], cancellationToken);
        if (variable is null) return false;
        db.ProjectVariables.Remove(variable);
        audit.Add(db, actor, Audit.AuditActions.VariableDelete, $"project:{projectName} variable:{name}", Audit.AuditOutcomes.Succeeded, 204, "",
            new { project_name = projectName, name, agent_id = agentId.Length == 0 ? null : agentId });
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>The variables a deploy of the project to <paramref name="agentId"/> carries: project-wide ones, overridden
    /// by the agent's own; values in clear (secrets decrypted), sorted by name.</summary>
    public async Task<IReadOnlyList<ProjectVariable>> ForDeployAsync(string projectName, string agentId, CancellationToken cancellationToken)
    {
        var merged = new SortedDictionary<string, ProjectVariable>(StringComparer.Ordinal);
        foreach (var variable in (await ListAsync(projectName, agentId, cancellationToken)).OrderBy(v => v.AgentId.Length))
            merged[variable.Name] = new ProjectVariable(variable.Name, variable.Secret ? protector.UnprotectValue(variable.Value) : variable.Value, variable.Secret);
        return [.. merged.Values];
    }
}
