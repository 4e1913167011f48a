using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;

namespace InstaDeploy.ControlPlane.Tests.Agents;

/// <summary>
/// Agent ids cannot be borrowed: an InstaDeploy agent that connects with the shared token is issued a key of its own on
/// that first connection, and from then on nobody else holding the shared token can take its id or receive its jobs.
/// </summary>
public sealed class AgentIdentityTests
{
    [Fact]
    public async Task AnAgentOnTheSharedTokenGetsItsOwnKeyAndNobodyElseCanTakeItsIdOrItsJobs()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        var keyFile = Path.Combine(Directory.CreateTempSubdirectory("instadeploy-key-").FullName, "agent.key");
        var settings = new Dictionary<string, string?> { ["AGENT_KEY_FILE"] = keyFile };
        await using (var agent = await TestAgent.StartAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "web-1", settings))
        {
            await admin.WaitForAgentOnlineAsync("web-1");
            await Eventually.TrueAsync(() => File.Exists(keyFile), TimeSpan.FromSeconds(10), "the issued key to be stored");
            var key = await File.ReadAllTextAsync(keyFile);
            Assert.StartsWith("ida_", key);
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            await Eventually.TrueAsync(() => controlPlane.Logs.Lines.Any(l => l.Contains("Agent web-1 stored the key")), TimeSpan.FromSeconds(10), "the id to be bound to the key");
            Assert.DoesNotContain(agent.Logs.Lines.Concat(controlPlane.Logs.Lines), l => l.Contains(key));

            // While it is connected: the shared token, with or without the key feature, cannot take the id.
            foreach (var features in new string?[] { null, "reliable-delivery, agent-key" })
            {
                var impostor = new SeedAgent((_, _, _) => null);
                await Assert.ThrowsAsync<WebSocketException>(() => impostor.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "web-1", features));
                Assert.Equal(401, impostor.RefusedWith);
            }
        }

        // Offline, its jobs wait for it; an impostor with the shared token still cannot connect as it, so gets none.
        await Eventually.TrueAsync(async () => !(await admin.GetJsonAsync("/agents/web-1")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), "web-1 offline");
        using (var queued = await admin.PostJsonAsync("/agents/web-1/commands", new { type = "HEALTH_CHECK" }))
            Assert.Equal(HttpStatusCode.Accepted, queued.StatusCode);
        var thief = new SeedAgent((_, _, _) => ("COMPLETED", "stolen", ""));
        await Assert.ThrowsAsync<WebSocketException>(() => thief.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "web-1"));
        Assert.Empty(thief.ReceivedCommands);

        // The agent itself, restarted, comes back with its key (no shared token needed any more) and gets the job.
        await using var back = await TestAgent.StartAsync(controlPlane.WebSocketUrl, "", "web-1",
            new Dictionary<string, string?> { ["AGENT_SECRET_TOKEN"] = null, ["AGENT_KEY_FILE"] = keyFile });
        await admin.WaitForAgentOnlineAsync("web-1");
        var jobs = await admin.GetJsonAsync("/jobs?agent_id=web-1");
        var job = await admin.WaitForJobAsync(jobs[0].GetProperty("job_id").GetString()!);
        Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
        Assert.DoesNotContain("stolen", job.GetProperty("logs").GetString());
    }

    [Fact]
    public async Task AnIdOnlineUnderOneCredentialRefusesAConnectionWithAnother()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        await using var seed = new SeedAgent((_, _, _) => null);
        await seed.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "legacy-1");
        await admin.WaitForAgentOnlineAsync("legacy-1");

        // An agent that takes a key would get one: another credential than the seed agent's shared token, so refused.
        var keyed = new SeedAgent((_, _, _) => null);
        await Assert.ThrowsAsync<WebSocketException>(() => keyed.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "legacy-1", "agent-key"));
        Assert.Equal(409, keyed.RefusedWith);
        Assert.Equal(WebSocketState.Open, seed.State);
    }

    [Fact]
    public async Task AKeyIssuedButNotConfirmedIsAcceptedAtTheNextConnectionAndThenBindsTheId()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        string key;
        await using (var first = new SeedAgent((_, _, _) => null))
        {
            // Takes the key, but drops the connection before saying it stored it.
            await first.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "quick-1", "agent-key");
            key = first.ResponseHeaders!["X-InstaDeploy-Agent-Key"].Single();
            Assert.StartsWith("ida_", key);
        }
        await Eventually.TrueAsync(async () => !(await admin.GetJsonAsync("/agents/quick-1")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), "quick-1 offline");

        await using (var withKey = new SeedAgent((_, _, _) => null))
        {
            await withKey.ConnectAsync(controlPlane.WebSocketUrl, key, "quick-1", "agent-key");
            await admin.WaitForAgentOnlineAsync("quick-1");
            Assert.False(withKey.ResponseHeaders!.ContainsKey("X-InstaDeploy-Agent-Key")); // it has one
        }
        var shared = new SeedAgent((_, _, _) => null);
        await Assert.ThrowsAsync<WebSocketException>(() => shared.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "quick-1"));
        Assert.Equal(401, shared.RefusedWith);
    }

    [Fact]
    public async Task ASeedAgentKeepsWorkingWithTheSharedTokenAndIsNeverSentAKey()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        await using (var seed = new SeedAgent((_, _, _) => ("COMPLETED", "ok", "")))
        {
            await seed.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "seed-1");
            Assert.False(seed.ResponseHeaders!.ContainsKey("X-InstaDeploy-Agent-Key"));
            await admin.WaitForAgentOnlineAsync("seed-1");
        }
        await using var again = new SeedAgent((_, _, _) => ("COMPLETED", "ok", ""));
        await again.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "seed-1");
        await admin.WaitForAgentOnlineAsync("seed-1");
    }

    [Fact]
    public async Task AnEnrollmentTokenForOneIdEnrollsOnlyThatId()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        using var created = await admin.PostJsonAsync("/enrollment-tokens", new { name = "db-3", uses = 5, agent_id = "db-3" });
        var body = await created.ReadJsonAsync();
        Assert.Equal("db-3", body.GetProperty("agent_id").GetString());
        var token = body.GetProperty("token").GetString()!;

        using var other = await EnrollAsync(controlPlane, token, "web-9");
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Contains("AGENT_HOSTNAME=db-3", (await other.ReadJsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/agents/web-9")).StatusCode); // nothing was created

        using var right = await EnrollAsync(controlPlane, token, "db-3");
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
    }

    [Fact]
    public async Task ARevokedIdComesBackOnlyAfterAnAdminRestoresIt()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        using (var first = await EnrollAsync(controlPlane, await TokenAsync(admin), "gone-1")) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/agents/gone-1/revoke", null)).StatusCode);

        using (var again = await EnrollAsync(controlPlane, await TokenAsync(admin), "gone-1"))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
            Assert.Contains("POST /agents/gone-1/restore", (await again.ReadJsonAsync()).GetProperty("detail").GetString());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/agents/never-1/restore", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/agents/gone-1/restore", null)).StatusCode);
        using var restored = await EnrollAsync(controlPlane, await TokenAsync(admin), "gone-1");
        Assert.Equal(HttpStatusCode.OK, restored.StatusCode);
    }

    private static async Task<string> TokenAsync(HttpClient admin)
    {
        using var response = await admin.PostJsonAsync("/enrollment-tokens", new { name = "t" });
        return (await response.ReadJsonAsync()).GetProperty("token").GetString()!;
    }

    private static async Task<HttpResponseMessage> EnrollAsync(ControlPlaneFactory controlPlane, string token, string agentId)
    {
        using var anonymous = controlPlane.CreateApiClient(apiKey: null);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/agents/enroll") { Content = JsonContent.Create(new { agent_id = agentId }) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return await anonymous.SendAsync(request);
    }
}
