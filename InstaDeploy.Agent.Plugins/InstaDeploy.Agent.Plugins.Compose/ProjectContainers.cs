using System.Text.Json;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>One container of a compose project, as <c>docker inspect</c> shows it.</summary>
/// <param name="Id">Full container id.</param>
/// <param name="Name">Container name.</param>
/// <param name="Service">Its compose service.</param>
/// <param name="State">created, running, restarting, exited, paused or dead.</param>
/// <param name="Health">starting, healthy, unhealthy, or none (no healthcheck).</param>
/// <param name="ExitCode">The exit code, once exited.</param>
/// <param name="RestartCount">How often the engine restarted it.</param>
/// <param name="LastHealthOutput">The last healthcheck's output, if any.</param>
/// <param name="Ports">Published ports, e.g. 127.0.0.1:8080->80/tcp.</param>
/// <param name="RestartPolicy">no, always, unless-stopped or on-failure ("" when none).</param>
/// <param name="Revision">The control plane's revision that started it (<see cref="Contracts.ContainerLabels.Revision"/>), if any.</param>
public sealed record ContainerInfo(string Id, string Name, string? Service, string State, string Health, int ExitCode, int RestartCount, string? LastHealthOutput, IReadOnlyList<string> Ports, string RestartPolicy = "", string? Revision = null);

/// <summary>
/// The containers of a compose project, found by the compose project label (set by compose v1 and v2 alike), without
/// one-off <c>compose run</c> containers.
/// </summary>
public sealed class ProjectContainers(ComposeCli compose)
{
    /// <summary>Lists the project's containers; <paramref name="service"/> narrows to one service.</summary>
    /// <exception cref="InvalidOperationException">docker failed; the message says how.</exception>
    public async Task<IReadOnlyList<ContainerInfo>> ListAsync(string projectName, CancellationToken cancellationToken, string? service = null)
    {
        List<string> filter = ["--filter", $"label=com.docker.compose.project={ComposeCli.ComposeProjectName(projectName)}"];
        if (service is not null) filter.AddRange(["--filter", $"label=com.docker.compose.service={service}"]);
        var ids = await ProcessRunner.RunAsync(compose.DockerPath, ["ps", "-a", "-q", "--no-trunc", .. filter], null, cancellationToken);
        if (ids.ExitCode != 0)
            throw new InvalidOperationException($"docker ps exited with code {ids.ExitCode}: {string.Join('\n', ids.StandardErrorTail)}");
        var containerIds = ids.StandardOutput.Where(line => line.Length > 0).ToList();
        if (containerIds.Count == 0) return [];

        var inspect = await ProcessRunner.RunAsync(compose.DockerPath, ["inspect", .. containerIds], null, cancellationToken);
        if (inspect.ExitCode != 0)
        {
            // A container removed between ps and inspect (e.g. a recreate): list again once.
            if (inspect.StandardErrorTail.Any(l => l.Contains("No such", StringComparison.OrdinalIgnoreCase)))
                return await ListOnceMoreAsync(projectName, service, cancellationToken);
            throw new InvalidOperationException($"docker inspect exited with code {inspect.ExitCode}: {string.Join('\n', inspect.StandardErrorTail)}");
        }
        using var document = JsonDocument.Parse(string.Join('\n', inspect.StandardOutput));
        return [.. document.RootElement.EnumerateArray().Select(Describe).Where(c => c is not null).Select(c => c!).OrderBy(c => c.Name, StringComparer.Ordinal)];
    }

    private async Task<IReadOnlyList<ContainerInfo>> ListOnceMoreAsync(string projectName, string? service, CancellationToken cancellationToken)
    {
        await Task.Delay(200, cancellationToken);
        return await ListAsync(projectName, cancellationToken, service);
    }

    private static ContainerInfo? Describe(JsonElement container)
    {
        var labels = container.GetProperty("Config").GetProperty("Labels");
        string? Label(string name) => labels.ValueKind == JsonValueKind.Object && labels.TryGetProperty(name, out var v) ? v.GetString() : null;
        if (string.Equals(Label("com.docker.compose.oneoff"), "True", StringComparison.OrdinalIgnoreCase)) return null;

        var state = container.GetProperty("State");
        string health = "none";
        string? lastHealthOutput = null;
        if (state.TryGetProperty("Health", out var h) && h.ValueKind == JsonValueKind.Object)
        {
            health = h.GetProperty("Status").GetString() ?? "none";
            if (h.TryGetProperty("Log", out var log) && log.ValueKind == JsonValueKind.Array && log.GetArrayLength() > 0)
                lastHealthOutput = log[log.GetArrayLength() - 1].GetProperty("Output").GetString()?.Trim();
        }

        var ports = new List<string>();
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

        return new ContainerInfo(
            container.GetProperty("Id").GetString()!,
            container.GetProperty("Name").GetString()?.TrimStart('/') ?? "",
            Label("com.docker.compose.service"),
            state.GetProperty("Status").GetString() ?? "unknown",
            health,
            state.TryGetProperty("ExitCode", out var exit) && exit.TryGetInt32(out var code) ? code : 0,
            container.TryGetProperty("RestartCount", out var restarts) && restarts.TryGetInt32(out var count) ? count : 0,
            lastHealthOutput,
            ports,
            container.TryGetProperty("HostConfig", out var host) && host.TryGetProperty("RestartPolicy", out var policy)
                && policy.ValueKind == JsonValueKind.Object && policy.TryGetProperty("Name", out var policyName) ? policyName.GetString() ?? "" : "",
            Label(Contracts.ContainerLabels.Revision));
    }
}
