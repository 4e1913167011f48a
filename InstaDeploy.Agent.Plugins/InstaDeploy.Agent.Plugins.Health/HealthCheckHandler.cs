using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace InstaDeploy.Agent.Plugins.Health;

/// <summary>
/// <c>HEALTH_CHECK</c>: is the Docker engine reachable (and which version), which compose variant is installed,
/// is the projects folder writable, how much disk is free, and what the agent runs (version, uptime, plugins).
/// Completes when every check passes; fails naming the checks that did not, with the full report either way.
/// </summary>
public sealed class HealthCheckHandler(ComposeCli compose, IAgentInfo agent, TimeProvider time, Microsoft.Extensions.Configuration.IConfiguration configuration) : ICommandHandler
{
    /// <inheritdoc />
    public IReadOnlyCollection<string> CommandTypes { get; } = [Contracts.CommandTypes.HealthCheck];

    /// <inheritdoc />
    public async Task<CommandResult> HandleAsync(CommandContext context)
    {
        var problems = new List<string>();
        var warnings = new List<string>();
        var report = new JsonObject
        {
            ["agent"] = new JsonObject
            {
                ["version"] = agent.Version,
                ["hostname"] = agent.Hostname,
                ["architecture"] = agent.Architecture,
                ["uptime_seconds"] = Math.Round((time.GetUtcNow() - agent.StartedAt).TotalSeconds, 1),
            },
            ["docker"] = await DockerAsync(problems, context.CancellationToken),
            ["compose"] = await ComposeAsync(problems, context.CancellationToken),
            ["projects_dir"] = ProjectsFolder(problems, warnings),
            ["docker_networks"] = await NetworksAsync(problems, warnings, context.CancellationToken),
            ["plugins"] = new JsonArray([.. agent.LoadedPlugins.Select(p => (JsonNode)new JsonObject
            {
                ["name"] = p.Name,
                ["version"] = p.Version,
                ["command_types"] = new JsonArray([.. p.CommandTypes.Select(t => (JsonNode)JsonValue.Create(t))]),
            })]),
        };
        report["healthy"] = problems.Count == 0;
        report["warnings"] = new JsonArray([.. warnings.Select(w => (JsonNode)JsonValue.Create(w))]);

        foreach (var line in Summarize(report)) await context.WriteOutputLineAsync(line);
        foreach (var warning in warnings) await context.WriteOutputLineAsync("warning: " + warning);
        var data = JsonSerializer.SerializeToElement(report);
        return problems.Count == 0
            ? CommandResult.Success("Agent healthy", data)
            : CommandResult.Failure("Agent unhealthy: " + string.Join("; ", problems), data);
    }

    private async Task<JsonObject> DockerAsync(List<string> problems, CancellationToken cancellationToken)
    {
        try
        {
            var result = await ProcessRunner.RunAsync(compose.DockerPath, ["version", "--format", "{{.Server.Version}}"], null, cancellationToken);
            if (result.ExitCode == 0)
                return new JsonObject { ["reachable"] = true, ["version"] = (result.StandardOutput.Count > 0 ? result.StandardOutput[0].Trim() : null) };
            var reason = string.Join(' ', result.StandardErrorTail);
            problems.Add($"Docker engine not reachable: {reason}");
            return new JsonObject { ["reachable"] = false, ["error"] = reason };
        }
        catch (Win32Exception)
        {
            problems.Add($"Docker CLI '{compose.DockerPath}' not found");
            return new JsonObject { ["reachable"] = false, ["error"] = $"'{compose.DockerPath}' not found" };
        }
    }

    private async Task<JsonObject> ComposeAsync(List<string> problems, CancellationToken cancellationToken)
    {
        try
        {
            var variant = await compose.GetVariantAsync(cancellationToken);
            return new JsonObject { ["available"] = true, ["variant"] = variant.Name, ["version"] = variant.Version };
        }
        catch (InvalidOperationException e)
        {
            problems.Add(e.Message);
            return new JsonObject { ["available"] = false, ["error"] = e.Message };
        }
    }

    /// <summary>Fewer networks left than this (AGENT_MIN_FREE_NETWORKS, default 5) is warned about.</summary>
    private int MinFreeNetworks => int.TryParse(configuration["AGENT_MIN_FREE_NETWORKS"], out var n) && n >= 0 ? n : 5;

    /// <summary>Less free disk than this (AGENT_MIN_FREE_DISK_MB, default 2048) is warned about.</summary>
    private long MinFreeDiskBytes => (long.TryParse(configuration["AGENT_MIN_FREE_DISK_MB"], out var mb) && mb >= 0 ? mb : 2048) * 1024 * 1024;

    private async Task<JsonObject> NetworksAsync(List<string> problems, List<string> warnings, CancellationToken cancellationToken)
    {
        try
        {
            var report = await AddressPools.ReportAsync(compose.DockerPath, configuration["AGENT_DOCKER_DAEMON_JSON"] is { Length: > 0 } path ? path : "/etc/docker/daemon.json", cancellationToken);
            var available = report["available"]!.GetValue<int>();
            if (available == 0)
                problems.Add("the Docker engine cannot create another network: a deploy of a new project fails ('could not find an available, non-overlapping IPv4 address pool'); remove unused networks (docker network prune) or raise default-address-pools in daemon.json (README)");
            else if (available < MinFreeNetworks)
                warnings.Add($"the Docker engine can create only {available} more network(s) (each new compose project takes one); raise default-address-pools in daemon.json (README) before deploys fail");
            return report;
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception)
        {
            return new JsonObject { ["error"] = e.Message }; // the engine itself is reported unreachable above
        }
    }

    private JsonObject ProjectsFolder(List<string> problems, List<string> warnings)
    {
        var folder = agent.ProjectsDirectory;
        var node = new JsonObject { ["path"] = folder };
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".health-{Guid.NewGuid():N}");
            File.WriteAllText(probe, "ok");
            File.Delete(probe);
            node["writable"] = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"projects folder {folder} is not writable: {e.Message}");
            node["writable"] = false;
        }
        try
        {
            var drive = new DriveInfo(Path.GetFullPath(folder));
            node["free_bytes"] = drive.AvailableFreeSpace;
            node["total_bytes"] = drive.TotalSize;
            if (drive.AvailableFreeSpace < MinFreeDiskBytes)
                warnings.Add($"{drive.AvailableFreeSpace / 1024 / 1024} MiB free on the disk of the projects folder (under AGENT_MIN_FREE_DISK_MB, {MinFreeDiskBytes / 1024 / 1024} MiB): pulls and deploys fail when it is full");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            node["free_bytes"] = null;
        }
        return node;
    }

    private static IEnumerable<string> Summarize(JsonObject report)
    {
        yield return $"agent: {report["agent"]!["version"]} on {report["agent"]!["hostname"]} ({report["agent"]!["architecture"]}), up {report["agent"]!["uptime_seconds"]} s";
        yield return $"docker: {(report["docker"]!["reachable"]!.GetValue<bool>() ? "engine " + report["docker"]!["version"] : "NOT reachable")}";
        yield return $"compose: {(report["compose"]!["available"]!.GetValue<bool>() ? $"{report["compose"]!["variant"]} {report["compose"]!["version"]}" : "NOT installed")}";
        yield return $"projects: {report["projects_dir"]!["path"]} writable={report["projects_dir"]!["writable"]} free_bytes={report["projects_dir"]!["free_bytes"]}";
        var networks = report["docker_networks"]!;
        yield return networks["available"] is { } left
            ? $"docker networks: {networks["networks"]} in use, {left} more can be created (pools from {networks["pools_from"]})"
            : $"docker networks: unknown ({networks["error"]})";
        yield return $"plugins: {string.Join(", ", report["plugins"]!.AsArray().Select(p => $"{p!["name"]} {p["version"]}"))}";
    }
}
