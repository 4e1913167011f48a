using System.Net;
using System.Net.Sockets;
using System.Text;

namespace InstaDeploy.ControlPlane.Tests.Agents;

public sealed class AgentLimitsAndTlsTests
{
    private static readonly string Compose = Convert.ToBase64String("services:\n  web:\n    image: local/busybox:1\n"u8.ToArray());

    [Fact]
    public async Task AnAgentWithTooManyOpenJobsGetsNoMoreUntilSomeFinish()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_MAX_OPEN_JOBS_PER_AGENT"] = "2" });
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => null); // never answers
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "busy");
        await api.WaitForAgentOnlineAsync("busy");

        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await api.PostJsonAsync("/deploy", new { project_name = $"p{i}", compose_file_base64 = Compose })).StatusCode);
        using var refused = await api.PostJsonAsync("/deploy", new { project_name = "p2", compose_file_base64 = Compose });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("INSTADEPLOY_MAX_OPEN_JOBS_PER_AGENT", (await refused.ReadJsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(2, (await api.GetJsonAsync("/jobs")).GetArrayLength());
    }

    [Fact]
    public async Task AnAgentMessageOverTheSizeLimitClosesTheSocketWith1009()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_MAX_MESSAGE_BYTES"] = "65536" });
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => null);
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "chatty");
        await api.WaitForAgentOnlineAsync("chatty");

        await agent.SendRawAsync("{\"job_id\":\"x\",\"status\":\"RUNNING\",\"logs\":\"" + new string('a', 100_000) + "\"}");
        await Eventually.TrueAsync(() => agent.CloseStatus is not null, TimeSpan.FromSeconds(10), "the server to close the socket");
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.MessageTooBig, agent.CloseStatus);
        await Eventually.TrueAsync(async () => !(await api.GetJsonAsync("/agents/chatty")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), "offline");
    }

    [Fact]
    public async Task AClientThatTricklesItsHandshakeIsCutOff()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_HANDSHAKE_TIMEOUT_SECONDS"] = "1" });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, controlPlane.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"u8.ToArray()); // never finished
        var buffer = new byte[4096];
        var read = stream.ReadAsync(buffer).AsTask();
        var finished = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(read, finished); // the server answered (408) or closed the connection instead of waiting forever
        var answer = Encoding.ASCII.GetString(buffer, 0, await read);
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), answer);
    }

    [Fact]
    public async Task AnAgentTrustsAControlPlaneBehindAPrivateCaOnlyWhenGivenThatCa()
    {
        using var certificates = TestCertificates.Create();
        var folder = Directory.CreateTempSubdirectory("instadeploy-ca-").FullName;
        var caFile = certificates.WritePemFiles(folder).Ca;

        await using var controlPlane = new ControlPlaneFactory(tlsCertificate: certificates.Server);
        Assert.Equal("wss", controlPlane.WebSocketUrl.Scheme);
        using var api = controlPlane.CreateApiClient();

        await using (var untrusting = await TestAgent.StartAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "no-ca"))
        {
            await Eventually.TrueAsync(() => untrusting.Logs.Lines.Any(l => l.Contains("Connection to") && l.Contains("failed")),
                TimeSpan.FromSeconds(15), "the agent without the CA to refuse the certificate");
            Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/agents/no-ca")).StatusCode);
        }

        await using var trusting = await TestAgent.StartAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "with-ca",
            new Dictionary<string, string?> { ["AGENT_CA_CERT"] = caFile });
        await api.WaitForAgentOnlineAsync("with-ca");
    }
}
