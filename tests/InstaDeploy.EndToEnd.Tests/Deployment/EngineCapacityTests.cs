using System.Globalization;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests.Deployment;

/// <summary>
/// The agent's health check on the real Docker engine reports how many networks the engine can still create and the
/// free disk, warning before a deploy would fail, and failing once no network is left. The engine's pools come from an
/// AGENT_DOCKER_DAEMON_JSON of the test's own: the subnet of the engine's default bridge (used up) plus a few free
/// networks, so the counts are the ones the engine's allocator would meet.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EngineCapacityTests(FleetFixture fleet) : IClassFixture<FleetFixture>
{
    /// <summary>The subnet of the engine's default bridge network: always there, so a pool made of it is always used up
    /// whatever other tests on this engine create or remove meanwhile.</summary>
    private static async Task<string> BridgeSubnetAsync()
    {
        var (code, text) = await DockerCli.RunAsync("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", "bridge");
        Assert.True(code == 0, text);
        return text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).First(s => s.Contains('.'));
    }

    private async Task<JsonElement> HealthOfAgentWithPoolsAsync(string name, object[] pools, string minFreeDiskMb = "1")
    {
        var folder = Directory.CreateTempSubdirectory("daytwo-daemon-json-").FullName;
        try
        {
            var daemonJson = Path.Combine(folder, "daemon.json");
            await File.WriteAllTextAsync(daemonJson, JsonSerializer.Serialize(new Dictionary<string, object> { ["default-address-pools"] = pools }));
            await using var agent = await TestAgent.StartAsync(fleet.ControlPlane.WebSocketUrl, fleet.ControlPlane.AgentToken, name,
                new Dictionary<string, string?> { ["AGENT_DOCKER_DAEMON_JSON"] = daemonJson, ["AGENT_MIN_FREE_DISK_MB"] = minFreeDiskMb });
            await fleet.Api.WaitForAgentOnlineAsync(name);
            using var response = await fleet.Api.PostAsync($"/agents/{name}/health", null);
            return await fleet.Api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task AFewNetworksLeftAndLittleDiskAreWarnedAboutAndNoNetworkLeftFailsTheCheck()
    {
        var bridge = await BridgeSubnetAsync();
        var usedPool = new { @base = bridge, size = int.Parse(bridge[(bridge.IndexOf('/') + 1)..], CultureInfo.InvariantCulture) };
        // Four /26s in a range the engine's default pools never hand out.
        var freePool = new { @base = "10.213.7.0/24", size = 26 };
        var (_, all) = await DockerCli.RunAsync("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", "bridge", "host", "none");
        Assert.DoesNotContain("10.213.", all);

        var low = await HealthOfAgentWithPoolsAsync("capacity-low", [usedPool, freePool], minFreeDiskMb: "100000000");
        Assert.True(low.GetProperty("status").GetString() == "COMPLETED", low.GetRawText());
        var report = low.GetProperty("result");
        var networks = report.GetProperty("docker_networks");
        Assert.Equal(4, networks.GetProperty("available").GetInt32());
        Assert.EndsWith("daemon.json", networks.GetProperty("pools_from").GetString());
        Assert.Contains(bridge, networks.GetProperty("subnets_in_use").EnumerateArray().Select(e => e.GetString()));
        var warnings = report.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!).ToArray();
        Assert.Contains(warnings, w => w.Contains("only 4 more network(s)", StringComparison.Ordinal) && w.Contains("default-address-pools", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("AGENT_MIN_FREE_DISK_MB", StringComparison.Ordinal));
        Assert.True(report.GetProperty("projects_dir").GetProperty("free_bytes").GetInt64() > 0);
        Assert.Contains("warning: the Docker engine can create only 4", low.GetProperty("logs").GetString());

        // Only the pools the engine already uses up: the check fails, saying why and what to do.
        var none = await HealthOfAgentWithPoolsAsync("capacity-none", [usedPool]);
        Assert.Equal("FAILED", none.GetProperty("status").GetString());
        Assert.Equal(0, none.GetProperty("result").GetProperty("docker_networks").GetProperty("available").GetInt32());
        Assert.Contains("cannot create another network", none.GetProperty("error").GetString());
        Assert.Contains("default-address-pools", none.GetProperty("error").GetString());
    }
}
