using System.Net;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests.Distribution;

/// <summary>A real agent reports its host's CPU, memory and disk and its containers' CPU and memory every few seconds;
/// GET /agents/{id}/metrics gives the latest.</summary>
public sealed class HostMetricsTests : IAsyncLifetime
{
    private readonly ProcessFleet _fleet = new();
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        await _fleet.StartControlPlaneAsync(new Dictionary<string, string> { ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000" });
        _api = _fleet.CreateApiClient();
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _fleet.DisposeAsync();
    }

    [Fact]
    public async Task AnAgentReportsHostAndContainerMetricsEveryFewSeconds()
    {
        _fleet.StartAgent("metrics-1", settings: new Dictionary<string, string> { ["AGENT_METRICS_SECONDS"] = "2" });
        using (var none = await _api.GetAsync("/agents/metrics-1/metrics"))
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode); // nothing before the first sample

        JsonElement first = default;
        await Eventually.TrueAsync(async () =>
        {
            using var response = await _api.GetAsync("/agents/metrics-1/metrics");
            if (!response.IsSuccessStatusCode) return false;
            first = await response.ReadJsonAsync();
            return true;
        }, TimeSpan.FromSeconds(60), "the agent's first metrics");
        var metrics = first.GetProperty("metrics");
        Assert.Equal(Environment.ProcessorCount, metrics.GetProperty("cpu_count").GetInt32());
        Assert.InRange(metrics.GetProperty("cpu_percent").GetDouble(), 0, 100);
        var memoryTotal = metrics.GetProperty("memory_total_bytes").GetInt64();
        Assert.True(memoryTotal > 64L * 1024 * 1024, $"memory total {memoryTotal}");
        Assert.InRange(metrics.GetProperty("memory_used_bytes").GetInt64(), 1, memoryTotal);
        var diskTotal = metrics.GetProperty("disk_total_bytes").GetInt64();
        Assert.True(diskTotal > 0);
        Assert.InRange(metrics.GetProperty("disk_free_bytes").GetInt64(), 0, diskTotal);
        // The shared engine runs containers (at least the other tests' and the registry): each has a name and memory.
        var containers = metrics.GetProperty("containers");
        Assert.Equal(JsonValueKind.Array, containers.ValueKind);
        Assert.All(containers.EnumerateArray(), c => Assert.False(string.IsNullOrEmpty(c.GetProperty("name").GetString())));

        // A new sample replaces it a few seconds later.
        var at = first.GetProperty("received_at").GetDateTimeOffset();
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync("/agents/metrics-1/metrics")).GetProperty("received_at").GetDateTimeOffset() > at,
            TimeSpan.FromSeconds(30), "a newer sample");
    }
}
