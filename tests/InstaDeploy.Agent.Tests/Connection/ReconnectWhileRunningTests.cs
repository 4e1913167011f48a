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
        using var plugins = new MisbehavingPluginFolder();
        await using var agent = await TestAgent.StartAsync(new Uri($"ws://127.0.0.1:{proxy.Port}/ws"), controlPlane.AgentToken, "reconnect-1",
            new Dictionary<string, string?> { ["AGENT_PLUGINS_DIR"] = plugins.Path });
        await api.WaitForAgentOnlineAsync("reconnect-1");
        await MisbehavingPluginFolder.WaitForCommandTypeAsync(api, "reconnect-1", "SLOW");

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
}
