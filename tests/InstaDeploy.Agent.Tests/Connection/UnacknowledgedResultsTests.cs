using System.Text.Json;

namespace InstaDeploy.Agent.Tests.Connection;

/// <summary>
/// A control plane that takes reliable delivery but does not acknowledge a result (it was lost on its way, or the
/// store failed): the agent sends it again while the connection stays up, with backoff, until it is acknowledged, and
/// then forgets it.
/// </summary>
public sealed class UnacknowledgedResultsTests
{
    private const string Token = "unacked-results-token-0123456789abcdef";

    private static int FinalsFor(SeedServer server, string jobId) => server.Received.Count(m =>
        m.TryGetProperty("job_id", out var id) && id.GetString() == jobId
        && m.TryGetProperty("status", out var status) && status.GetString() is "COMPLETED" or "FAILED");

    [Fact]
    public async Task AResultNotAcknowledgedIsSentAgainOnTheSameConnectionUntilItIs()
    {
        await using var server = await SeedServer.StartAsync(Token, "reliable-delivery");
        await using var agent = await TestAgent.StartAsync(server.Url, Token, "unacked-1");
        var socket = await server.AgentConnected.WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(() => server.Received.Any(m => m.TryGetProperty("type", out var t) && t.GetString() == "AGENT_STATE"),
            TimeSpan.FromSeconds(20), "the agent's AGENT_STATE");

        const string jobId = "job-0123456789abcdef0123456789abcdef";
        await server.SendCommandAsync(jobId, "HEALTH_CHECK", "{}");
        await server.WaitForFinalAsync(jobId, TimeSpan.FromSeconds(30));
        var journal = Path.Combine(agent.StateDirectory, "jobs", jobId + ".result");
        Assert.True(File.Exists(journal), "the result is held until it is acknowledged");

        // Held results older than 30 s are sent again (checked every 10 s): the same connection, no reconnect.
        await Eventually.TrueAsync(() => FinalsFor(server, jobId) >= 2, TimeSpan.FromSeconds(90), "the result to be sent again");
        Assert.Equal(System.Net.WebSockets.WebSocketState.Open, socket.State);
        Assert.Single(server.Received, m => m.TryGetProperty("type", out var t) && t.GetString() == "AGENT_STATE"); // it never reconnected

        await server.SendRawAsync("{\"id\":\"" + jobId + "\",\"type\":\"ACK\",\"payload\":{}}");
        await Eventually.TrueAsync(() => !File.Exists(journal), TimeSpan.FromSeconds(20), "the acknowledged result to be forgotten");
        var sent = FinalsFor(server, jobId);
        await Task.Delay(TimeSpan.FromSeconds(12)); // past the next resend tick
        Assert.Equal(sent, FinalsFor(server, jobId));
    }
}
