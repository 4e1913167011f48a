using System.Net;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Tests.Agents;

/// <summary>
/// Agents that connect at the same moment (a fleet redialling after a restart) are recorded together: each one online
/// with its own version and first-seen time, an agent seen before keeps its history, and the job that waited for one
/// of them is sent to it on that connection.
/// </summary>
public sealed class AgentConnectBurstTests
{
    private const int Known = 30, New = 30;

    [Fact]
    public async Task AgentsConnectingAtOnceAreEachOnlineWithTheirOwnRecordAndGetWhatWaitedForThem()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        var known = Enumerable.Range(0, Known).Select(i => $"burst-known-{i:D2}").ToArray();
        var fresh = Enumerable.Range(0, New).Select(i => $"burst-new-{i:D2}").ToArray();

        // The known agents were here once, then went away; a job waits for one of them.
        var before = new List<SeedAgent>();
        foreach (var id in known)
        {
            var agent = new SeedAgent((_, _, _) => null);
            await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, id);
            before.Add(agent);
        }
        foreach (var id in known) await admin.WaitForAgentOnlineAsync(id);
        var firstSeen = (await AgentsAsync(admin)).Where(a => known.Contains(a.Id)).ToDictionary(a => a.Id, a => a.FirstSeen);
        foreach (var agent in before) await agent.DisposeAsync();
        await Eventually.TrueAsync(async () => (await AgentsAsync(admin)).Where(a => known.Contains(a.Id)).All(a => !a.Online), TimeSpan.FromSeconds(20), "the known agents offline");
        using var queued = await admin.PostJsonAsync($"/agents/{known[7]}/commands", new { type = "HEALTH_CHECK" });
        Assert.Equal(HttpStatusCode.Accepted, queued.StatusCode);
        var jobId = (await queued.ReadJsonAsync()).GetProperty("job_id").GetString()!;

        // All of them at once.
        var agents = known.Concat(fresh).Select(id => (Id: id, Agent: new SeedAgent((_, _, _) => ("COMPLETED", "ok from " + id, "")))).ToList();
        try
        {
            await Task.WhenAll(agents.Select(a => a.Agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, a.Id)));
            await Eventually.TrueAsync(async () => (await AgentsAsync(admin)).Count(a => a.Online && (known.Contains(a.Id) || fresh.Contains(a.Id))) == Known + New,
                TimeSpan.FromSeconds(30), "every agent online");

            var listed = (await AgentsAsync(admin)).Where(a => known.Contains(a.Id) || fresh.Contains(a.Id)).ToList();
            Assert.Equal(Known + New, listed.Count);
            Assert.All(listed, a => Assert.Equal("1.0.0", a.Version));
            Assert.All(listed.Where(a => known.Contains(a.Id)), a =>
            {
                Assert.Equal(firstSeen[a.Id], a.FirstSeen);
                Assert.True(a.ConnectedAt > a.FirstSeen, $"{a.Id} connected again after it was first seen");
            });
            Assert.All(listed.Where(a => fresh.Contains(a.Id)), a => Assert.Equal(a.FirstSeen, a.ConnectedAt));

            var job = await admin.WaitForJobAsync(jobId);
            Assert.Equal(("COMPLETED", "ok from " + known[7]), (job.GetProperty("status").GetString(), job.GetProperty("logs").GetString()?.TrimEnd('\n')));
        }
        finally
        {
            foreach (var (_, agent) in agents) await agent.DisposeAsync();
        }
    }

    private sealed record Listed(string Id, bool Online, string Version, DateTimeOffset FirstSeen, DateTimeOffset? ConnectedAt);

    private static async Task<List<Listed>> AgentsAsync(HttpClient admin) =>
        [.. (await admin.GetJsonAsync("/agents")).EnumerateArray().Select(a => new Listed(
            a.GetProperty("id").GetString()!, a.GetProperty("online").GetBoolean(), a.GetProperty("version").GetString()!,
            a.GetProperty("first_seen").GetDateTimeOffset(),
            a.GetProperty("connected_at").ValueKind == JsonValueKind.Null ? null : a.GetProperty("connected_at").GetDateTimeOffset()))];
}
