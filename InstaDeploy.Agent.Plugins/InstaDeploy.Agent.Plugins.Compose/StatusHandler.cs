using System.Text.Json;
using System.Text.Json.Nodes;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>
/// <c>STATUS</c>: the project's containers (name, service, state, health, ports, and the revision that started each) and,
/// when they all agree, the project's <c>revision</c>. Read from the Docker engine by the compose project label, which
/// both compose v1 and v2 set, so it works the same with either.
/// </summary>
public sealed class StatusHandler(ProjectContainers projectContainers) : ICommandHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> CommandTypes { get; } = [Contracts.CommandTypes.Status];

    /// <inheritdoc />
    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        var projectName = context.GetProjectName();
        IReadOnlyList<ContainerInfo> found;
        try
        {
            found = await projectContainers.ListAsync(projectName, context.CancellationToken);
        }
        catch (InvalidOperationException e)
        {
            return CommandResult.Failure(e.Message);
        }

        foreach (var c in found)
            await context.WriteOutputLineAsync($"{c.Name}\t{c.Service}\t{c.State}\t{c.Health}\t{string.Join(", ", c.Ports)}");

        var containers = new JsonArray([.. found.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name,
            ["service"] = c.Service,
            ["state"] = c.State,
            ["health"] = c.Health,
            ["ports"] = new JsonArray([.. c.Ports.Select(p => (JsonNode)JsonValue.Create(p))]),
            ["revision"] = c.Revision,
        })]);
        var running = found.Count(c => c.State == "running");
        var revisions = found.Select(c => c.Revision).Distinct().ToList();
        var result = new JsonObject
        {
            ["project_name"] = projectName,
            ["containers"] = containers,
            ["revision"] = revisions is [{ } one] ? one : null,
        };
        return CommandResult.Success(
            $"{found.Count} container(s), {running} running",
            JsonSerializer.SerializeToElement(result));
    }
}
