namespace InstaDeploy.Agent.Tests.Connection;

/// <summary>
/// The network drops while a job runs and comes back: the job goes on, and its real result is what the control plane
/// shows. (A reconnect must not take a job that runs right now for one interrupted by the last stop.)
/// </summary>
public sealed class ReconnectWhileRunningTests
{
    [Fact]
    public async Task AJobRunningThroughAReconnectEndsWithItsOwnResult()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var api = controlPlane.CreateApiClient();
        await using var proxy = new TcpCutProxy(controlPlane.BaseAddress.Port);
        var plugins = Directory.CreateTempSubdirectory("instadeploy-reconnect-").FullName;
        try
        {
            var source = Path.Combine(AppContext.BaseDirectory, "test-plugins", "Misbehaving");
            Directory.CreateDirectory(Path.Combine(plugins, "Misbehaving"));
            foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(plugins, "Misbehaving", Path.GetFileName(file)));
            var throughProxy = new Uri($"ws://127.0.0.1:{proxy.Port}/ws");
            await using var agent = await TestAgent.StartAsync(throughProxy, controlPlane.AgentToken, "reconnect-1",
                new Dictionary<string, string?> { ["AGENT_PLUGINS_DIR"] = plugins });
            await api.WaitForAgentOnlineAsync("reconnect-1");
            await Eventually.TrueAsync(async () => (await api.GetJsonAsync("/agents/reconnect-1")).GetProperty("command_types") is { ValueKind: System.Text.Json.JsonValueKind.Array } types
                && types.EnumerateArray().Any(t => t.GetString() == "SLOW"), TimeSpan.FromSeconds(20), "SLOW to be reported");

            using var response = await api.PostJsonAsync("/agents/reconnect-1/commands", new { type = "SLOW", payload = new { ms = 6000 } });
            var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
            await Eventually.TrueAsync(() => agent.Logs.Lines.Any(l => l.Contains($"Job {jobId}: running SLOW")), TimeSpan.FromSeconds(10), "the job to start on the agent");

            proxy.Cut();
            await Eventually.TrueAsync(async () => !(await api.GetJsonAsync("/agents/reconnect-1")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(20), "the agent to be offline");
            proxy.Restore();
            await api.WaitForAgentOnlineAsync("reconnect-1");

            var job = await api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(60));
            Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
            Assert.EndsWith("slept\n", job.GetProperty("logs").GetString());
        }
        finally
        {
            Directory.Delete(plugins, recursive: true);
        }
    }
}
