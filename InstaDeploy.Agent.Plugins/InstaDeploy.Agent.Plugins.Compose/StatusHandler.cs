using System.Text.Json;
using System.Text.Json.Nodes;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>
/// <c>STATUS</c>: the project's containers (name, service, state, health, ports). Read from the Docker engine by the
/// compose project label, which both compose v1 and v2 set, so it works the same with either.
/// </summary>
public sealed class StatusHandler(ComposeCli compose) : ICommandHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> CommandTypes { get; } = [Contracts.CommandTypes.Status];

    /// <inheritdoc />
    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        var projectName = context.GetProjectName();
        var label = $"label=com.docker.compose.project={ComposeCli.ComposeProjectName(projectName)}";
        var ids = await ProcessRunner.RunAsync(compose.DockerPath, ["ps", "-a", "-q", "--no-trunc", "--filter", label], null, context.CancellationToken);
        if (ids.ExitCode != 0)
            return CommandResult.Failure($"docker ps exited with code {ids.ExitCode}: {string.Join('\n', ids.StandardErrorTail)}");

        var containers = new JsonArray();
        var containerIds = ids.StandardOutput.Where(line => line.Length > 0).ToList();
        if (containerIds.Count > 0)
        {
            var inspect = await ProcessRunner.RunAsync(compose.DockerPath, ["inspect", .. containerIds], null, context.CancellationToken);
            if (inspect.ExitCode != 0)
                return CommandResult.Failure($"docker inspect exited with code {inspect.ExitCode}: {string.Join('\n', inspect.StandardErrorTail)}");
            using var document = JsonDocument.Parse(string.Join('\n', inspect.StandardOutput));
            foreach (var container in document.RootElement.EnumerateArray())
                containers.Add(Describe(container));
        }

        foreach (var container in containers)
            await context.WriteOutputLineAsync($"{container!["name"]}\t{container["service"]}\t{container["state"]}\t{container["health"]}\t{string.Join(", ", container["ports"]!.AsArray())}");

        var running = containers.Count(c => (string?)c!["state"] == "running");
        var result = new JsonObject
        {
            ["project_name"] = projectName,
            ["containers"] = containers,
        };
        return CommandResult.Success(
            $"{containers.Count} container(s), {running} running",
            JsonSerializer.SerializeToElement(result));
    }

    private static JsonObject Describe(JsonElement container)
    {
        var state = container.GetProperty("State");
        var health = state.TryGetProperty("Health", out var h) && h.ValueKind == JsonValueKind.Object
            ? h.GetProperty("Status").GetString()
            : "none";
        var service = container.GetProperty("Config").GetProperty("Labels") is { ValueKind: JsonValueKind.Object } labels
            && labels.TryGetProperty("com.docker.compose.service", out var s) ? s.GetString() : null;

        var ports = new JsonArray();
        if (container.TryGetProperty("NetworkSettings", out var network)
            && network.TryGetProperty("Ports", out var portMap) && portMap.ValueKind == JsonValueKind.Object)
        {
            foreach (var port in portMap.EnumerateObject())
            {
                if (port.Value.ValueKind != JsonValueKind.Array || port.Value.GetArrayLength() == 0)
                {
                    ports.Add(port.Name);
                    continue;
                }
                foreach (var binding in port.Value.EnumerateArray())
                    ports.Add($"{binding.GetProperty("HostIp").GetString()}:{binding.GetProperty("HostPort").GetString()}->{port.Name}");
            }
        }

        return new JsonObject
        {
            ["name"] = container.GetProperty("Name").GetString()?.TrimStart('/'),
            ["service"] = service,
            ["state"] = state.GetProperty("Status").GetString(),
            ["health"] = health,
            ["ports"] = ports,
        };
    }
}
