namespace InstaDeploy.Agent.Tests.Commands;

/// <summary>
/// A command that prints faster and more than the link carries: the agent's output channel is bounded, and every message
/// it sends stays under the largest message the control plane says it takes, so it is never cut off for a big frame.
/// </summary>
public sealed class OutputLimitsTests
{
    [Fact]
    public async Task AFloodOfOutputStaysUnderTheControlPlanesMessageLimitAndTheJobCompletes()
    {
        const int limit = 65_536;
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?>
        {
            ["INSTADEPLOY_MAX_MESSAGE_BYTES"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        using var api = controlPlane.CreateApiClient();
        using var plugins = new MisbehavingPluginFolder();
        await using var agent = await TestAgent.StartAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "chatty-1",
            new Dictionary<string, string?> { ["AGENT_PLUGINS_DIR"] = plugins.Path });
        await api.WaitForAgentOnlineAsync("chatty-1");
        await MisbehavingPluginFolder.WaitForCommandTypeAsync(api, "chatty-1", "CHATTY");

        // 2 MB of output, and single lines longer than a whole message may be.
        foreach (var (lines, width) in new[] { (10_000, 200), (3, 200_000) })
        {
            using var response = await api.PostJsonAsync("/agents/chatty-1/commands", new { type = "CHATTY", payload = new { lines, width } });
            var job = await api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromSeconds(60));
            Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
            Assert.EndsWith("done\n", job.GetProperty("logs").GetString());
        }
        Assert.DoesNotContain(controlPlane.Logs.Lines, l => l.Contains("message too big") || l.Contains("chatty-1 disconnected"));
        Assert.True((await api.GetJsonAsync("/agents/chatty-1")).GetProperty("online").GetBoolean());
    }
}
