using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;

namespace InstaDeploy.ControlPlane.Tests.Agents;

/// <summary>Per-agent identity with the real agent: enrollment, its own key, revocation, the shared token switched off.</summary>
public sealed class AgentCredentialTests
{
    private static async Task<string> EnrollmentTokenAsync(HttpClient admin, int uses = 1, int seconds = 3600)
    {
        using var response = await admin.PostJsonAsync("/enrollment-tokens", new { name = "test", uses, expires_in_seconds = seconds });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("token").GetString()!;
    }

    private static Dictionary<string, string?> Enrolling(string token, string keyFile) => new()
    {
        ["AGENT_SECRET_TOKEN"] = null,
        ["AGENT_ENROLLMENT_TOKEN"] = token,
        ["AGENT_KEY_FILE"] = keyFile,
    };

    [Fact]
    public async Task AnAgentEnrollsOnceKeepsItsOwnKeyPrivateAndConnectsWithItFromThenOn()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_SHARED_AGENT_TOKEN"] = "false" });
        using var admin = controlPlane.CreateApiClient();
        var token = await EnrollmentTokenAsync(admin);
        var keyFile = Path.Combine(Directory.CreateTempSubdirectory("instadeploy-key-").FullName, "agent.key");

        await using (var agent = await TestAgent.StartAsync(controlPlane.WebSocketUrl, "", "enrolled-1", Enrolling(token, keyFile)))
        {
            await admin.WaitForAgentOnlineAsync("enrolled-1");
            Assert.StartsWith("ida_", await File.ReadAllTextAsync(keyFile));
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            Assert.Contains(agent.Logs.Lines, l => l.Contains("Enrolled as enrolled-1"));
            Assert.DoesNotContain(agent.Logs.Lines.Concat(controlPlane.Logs.Lines), l => l.Contains(token) || l.Contains(File.ReadAllText(keyFile)));
        }
        var used = (await admin.GetJsonAsync("/enrollment-tokens"))[0];
        Assert.Equal(0, used.GetProperty("uses_left").GetInt32());

        // Restarted with no token at all: the kept key is enough.
        await using (var again = await TestAgent.StartAsync(controlPlane.WebSocketUrl, "", "enrolled-1",
            new Dictionary<string, string?> { ["AGENT_SECRET_TOKEN"] = null, ["AGENT_KEY_FILE"] = keyFile }))
        {
            await admin.WaitForAgentOnlineAsync("enrolled-1");
        }

        // The token was single-use.
        await using var second = await TestAgent.StartAsync(controlPlane.WebSocketUrl, "", "enrolled-2",
            Enrolling(token, Path.Combine(Path.GetDirectoryName(keyFile)!, "second.key")));
        await Eventually.TrueAsync(() => second.Logs.Lines.Any(l => l.Contains("enrollment was refused (HTTP 401)") && l.Contains("used up")),
            TimeSpan.FromSeconds(10), "the used-up token to be refused");
    }

    [Fact]
    public async Task RevokingAnAgentDisconnectsItAtOnceAndRefusesItAfterwards()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        var keyFile = Path.Combine(Directory.CreateTempSubdirectory("instadeploy-key-").FullName, "agent.key");
        await using var agent = await TestAgent.StartAsync(controlPlane.WebSocketUrl, "", "doomed", Enrolling(await EnrollmentTokenAsync(admin), keyFile));
        await admin.WaitForAgentOnlineAsync("doomed");

        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/agents/doomed/revoke", null)).StatusCode);
        await Eventually.TrueAsync(async () => !(await admin.GetJsonAsync("/agents/doomed")).GetProperty("online").GetBoolean(),
            TimeSpan.FromSeconds(5), "the revoked agent to be disconnected");
        await Eventually.TrueAsync(() => agent.Logs.Lines.Any(l => l.Contains("refused this agent's token (HTTP 401)")),
            TimeSpan.FromSeconds(15), "the revoked agent to be refused on reconnect");

        // Not with the shared token either.
        var shared = new SeedAgent((_, _, _) => null);
        await Assert.ThrowsAsync<WebSocketException>(() => shared.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "doomed"));
        Assert.Equal(401, shared.RefusedWith);
        Assert.False((await admin.GetJsonAsync("/agents/doomed")).GetProperty("online").GetBoolean());
    }

    [Fact]
    public async Task AnEnrolledIdCannotBeTakenWithTheSharedTokenOrEnrolledTwice()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        var keyFile = Path.Combine(Directory.CreateTempSubdirectory("instadeploy-key-").FullName, "agent.key");
        await using var agent = await TestAgent.StartAsync(controlPlane.WebSocketUrl, "", "owned", Enrolling(await EnrollmentTokenAsync(admin, uses: 2), keyFile));
        await admin.WaitForAgentOnlineAsync("owned");

        var impostor = new SeedAgent((_, _, _) => null);
        await Assert.ThrowsAsync<WebSocketException>(() => impostor.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "owned"));
        Assert.Equal(401, impostor.RefusedWith);

        using var anonymous = controlPlane.CreateApiClient(apiKey: null);
        var token = await EnrollmentTokenAsync(admin);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/agents/enroll") { Content = JsonContent.Create(new { agent_id = "owned" }) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var clash = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Conflict, clash.StatusCode);
        Assert.Contains("already has its own key", (await clash.ReadJsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task WithTheSharedTokenSwitchedOffOnlyEnrolledAgentsConnect()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_SHARED_AGENT_TOKEN"] = "false" });
        var seed = new SeedAgent((_, _, _) => null);
        await Assert.ThrowsAsync<WebSocketException>(() => seed.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "legacy"));
        Assert.Equal(401, seed.RefusedWith);
    }
}
