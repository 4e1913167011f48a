using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>A project variable as the API shows it: a secret's value is always masked.</summary>
/// <param name="Name">The variable's name.</param>
/// <param name="Value">The value, or "********" for a secret.</param>
/// <param name="Secret">Whether the value is secret: encrypted at rest, masked here, redacted from deploy output.</param>
/// <param name="AgentId">null for every agent; else the one agent where this value overrides the project-wide one.</param>
/// <param name="UpdatedAt">When it was last set.</param>
public sealed record VariableDto(string Name, string Value, bool Secret, string? AgentId, DateTimeOffset UpdatedAt);

/// <summary>A project's variables.</summary>
/// <param name="ProjectName">The project.</param>
/// <param name="Variables">Project-wide variables, and per-agent ones, sorted by name.</param>
public sealed record ProjectVariablesDto(string ProjectName, VariableDto[] Variables);

/// <summary>Set one variable of a project.</summary>
/// <param name="Value">The value (up to 64 KiB, no line breaks).</param>
/// <param name="Secret">Encrypt it at rest, never show it again, and redact it from deploy output.</param>
/// <param name="AgentId">Set it for this agent only, overriding the project-wide value there.</param>
public sealed record SetVariableRequest(string? Value, bool Secret = false, string? AgentId = null);

/// <summary>
/// Environment variables per project (and per agent): sent with every deploy, written on the agent as an owner-only
/// <c>.env</c> beside the compose file, where compose reads them for <c>${NAME}</c> in the file (and <c>env_file: .env</c>
/// passes them to containers). A change takes effect at the next deploy.
/// </summary>
public static class VariablesApi
{
    public const string Masked = "********";

    /// <summary>Most variables a project may have: a deploy carries them all in one command.</summary>
    public const int MaxVariablesPerProject = 200;

    public static IEndpointRouteBuilder MapVariablesApi(this IEndpointRouteBuilder app)
    {
        var read = app.MapGroup("/deployments/{projectName}/env").WithTags("Variables").RequireAuthorization(ApiKeys.ApiKeyScopes.Read).RequireRateLimiting(RateLimits.PerKey);
        read.MapGet("/", List)
            .WithName("ListVariables")
            .WithResponseExample(200, new { project_name = "test-app", variables = new[] { Example, SecretExample } })
            .WithSummary("List a project's variables")
            .WithDescription("Project-wide variables and per-agent overrides (agent_id filters to what one agent gets). Secret values are shown as \"********\".");

        var write = app.MapGroup("/deployments/{projectName}/env").WithTags("Variables").RequireAuthorization(ApiKeys.ApiKeyScopes.Deploy).RequireRateLimiting(RateLimits.PerKey);
        write.MapPut("/{name}", Set)
            .WithName("SetVariable")
            .Audited(Audit.AuditActions.VariableSet)
            .WithRequestExample(new { value = "s3cr3t-value", secret = true })
            .WithResponseExample(200, SecretExample)
            .WithSummary("Set a project variable")
            .WithDescription("Creates or replaces the variable, project-wide or (agent_id) for one agent. secret: true encrypts the value at rest (Data Protection), masks it in every answer and redacts it from deploy output. Takes effect at the next deploy.");
        write.MapDelete("/{name}", Delete)
            .WithName("DeleteVariable")
            .Audited(Audit.AuditActions.VariableDelete)
            .WithSummary("Delete a project variable")
            .WithDescription("Removes the project-wide variable, or with agent_id the one agent's override. Takes effect at the next deploy.");
        return app;
    }

    private static readonly object Example = new { name = "LOG_LEVEL", value = "info", secret = false, agent_id = (string?)null, updated_at = "2026-11-27T10:15:00+00:00" };
    private static readonly object SecretExample = new { name = "DB_PASSWORD", value = Masked, secret = true, agent_id = (string?)null, updated_at = "2026-11-27T10:15:00+00:00" };

    private static async Task<Results<Ok<ProjectVariablesDto>, ValidationProblem>> List(
        string projectName, [FromQuery(Name = "agent_id")] string? agentId, ProjectVariableStore store, CancellationToken cancellationToken)
    {
        if (DeploymentsApi.ValidateProject(projectName) is { } invalid) return invalid;
        var variables = await store.ListAsync(projectName, agentId, cancellationToken);
        return TypedResults.Ok(new ProjectVariablesDto(projectName, [.. variables.Select(ToDto)]));
    }

    private static async Task<Results<Ok<VariableDto>, ValidationProblem, ProblemHttpResult>> Set(
        string projectName, string name, SetVariableRequest request, ProjectVariableStore store, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var (variable, refusal) = await store.TrySetAsync(projectName, request.AgentId, name, request.Value, request.Secret, Audit.AuditActor.Of(user), cancellationToken);
        if (refusal is null) return TypedResults.Ok(ToDto(variable!));
        return refusal.Kind switch
        {
            Jobs.Submission.RefusalKind.Invalid => Problems.Invalid(refusal.Field!, refusal.Detail),
            Jobs.Submission.RefusalKind.NotFound => Problems.NotFound(refusal.Title, refusal.Detail),
            _ => Problems.Conflict(refusal.Title, refusal.Detail),
        };
    }

    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> Delete(
        string projectName, string name, [FromQuery(Name = "agent_id")] string? agentId, ProjectVariableStore store, System.Security.Claims.ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (DeploymentsApi.ValidateProject(projectName) is { } invalidProject) return invalidProject;
        if (ValidateName(name) is { } invalidName) return invalidName;
        return await store.DeleteAsync(projectName, agentId ?? "", name, Audit.AuditActor.Of(user), cancellationToken)
            ? TypedResults.NoContent()
            : Problems.NotFound("Unknown variable", agentId is null
                ? $"Project '{projectName}' has no project-wide variable '{name}'. GET /deployments/{projectName}/env lists its variables."
                : $"Project '{projectName}' has no variable '{name}' for agent '{agentId}'. GET /deployments/{projectName}/env lists its variables.");
    }

    private static ValidationProblem? ValidateName(string name) =>
        EnvironmentVariables.IsValidName(name) ? null
        : Problems.Invalid("name", $"'{(name.Length > 80 ? name[..80] + "…" : name)}' is not a valid variable name: use letters, digits and '_', not starting with a digit ({EnvironmentVariables.NamePattern})");

    public static VariableDto ToDto(ProjectVariableEntity v) =>
        new(v.Name, v.Secret ? Masked : v.Value, v.Secret, v.AgentId.Length == 0 ? null : v.AgentId, v.UpdatedAt);
}
