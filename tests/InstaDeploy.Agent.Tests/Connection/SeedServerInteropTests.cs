using System.Text.Json;
using InstaDeploy.Agent.Connection;
using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.Agent.Tests.Connection;

/// <summary>Our agent against a control plane written only to the seed README.</summary>
public sealed class SeedServerInteropTests : IAsyncLifetime
{
    private const string Token = "seed-server-token-42";
    private SeedServer _server = null!;
    private TestAgent _agent = null!;

    public async Task InitializeAsync()
    {
        _server = await SeedServer.StartAsync(Token);
        _agent = await TestAgent.StartAsync(_server.Url, Token, "seed-interop-host");
        await _server.AgentConnected.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public void TheAgentSendsTheSeedsHandshakeHeaders()
    {
        Assert.Equal("1.0.0", _server.HandshakeHeaders["X-Agent-Version"]);
        Assert.Equal(AgentOptions.DefaultArchitecture(), _server.HandshakeHeaders["X-Agent-Architecture"]);
        Assert.Equal("seed-interop-host", _server.HandshakeHeaders["X-Agent-Hostname"]);
    }

    [Fact]
    public async Task AHealthCheckIsAnsweredWithAFinalResponseInTheSeedsShape()
    {
        await _server.SendCommandAsync("job-123", "HEALTH_CHECK", "{}");
        var response = await _server.WaitForFinalAsync("job-123", TimeSpan.FromSeconds(30));
        Assert.Contains("plugins: InstaDeploy.Agent.Plugins.Compose", response.GetProperty("logs").GetString());
        Assert.Contains("docker:", response.GetProperty("logs").GetString());
        AssertEveryMessageHasTheSeedShape();
    }

    [Fact]
    public async Task AnUnknownCommandTypeFailsNamingItAndTheTypesThisAgentRuns()
    {
        await _server.SendCommandAsync("job-x", "REBOOT_SERVER", "{}");
        var response = await _server.WaitForFinalAsync("job-x", TimeSpan.FromSeconds(30));
        Assert.Equal("FAILED", response.GetProperty("status").GetString());
        Assert.Equal("unknown command type 'REBOOT_SERVER'; this agent runs: DEPLOY_COMPOSE, HEALTH_CHECK, LOGS, REGISTRY_LOGIN, STATUS, STOP_COMPOSE",
            response.GetProperty("error").GetString());
        AssertEveryMessageHasTheSeedShape();
    }

    [Theory]
    [InlineData("""{"project_name":"../escape","compose_file_base64":"c2VydmljZXM6IHt9"}""", "project_name must match")]
    [InlineData("""{"project_name":"/etc","compose_file_base64":"c2VydmljZXM6IHt9"}""", "project_name must match")]
    [InlineData("""{"project_name":"ok"}""", "missing \"compose_file_base64\"")]
    [InlineData("""{"project_name":5,"compose_file_base64":"x"}""", "\"project_name\" must be a string")]
    [InlineData("""[]""", "payload must be a JSON object")]
    public async Task ADeployWithABadPayloadFailsAndWritesNothing(string payload, string expected)
    {
        await _server.SendCommandAsync("job-bad", "DEPLOY_COMPOSE", payload);
        var response = await _server.WaitForFinalAsync("job-bad", TimeSpan.FromSeconds(30));
        Assert.Equal("FAILED", response.GetProperty("status").GetString());
        Assert.Contains(expected, response.GetProperty("error").GetString());
        Assert.Empty(Directory.GetFileSystemEntries(_agent.ProjectsDirectory));
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(_agent.ProjectsDirectory)!, "escape")));
    }

    [Fact]
    public async Task StoppingAProjectThatIsNotDeployedHereFailsSayingSo()
    {
        await _server.SendCommandAsync("job-stop", "STOP_COMPOSE", """{"project_name":"never-here"}""");
        var response = await _server.WaitForFinalAsync("job-stop", TimeSpan.FromSeconds(30));
        Assert.Equal("FAILED", response.GetProperty("status").GetString());
        Assert.Contains("'never-here' is not deployed on this agent", response.GetProperty("error").GetString());
    }

    [Fact]
    public async Task MalformedCommandsAreIgnoredAndTheAgentStaysConnected()
    {
        var socket = await _server.AgentConnected;
        await socket.SendAsync("not json"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        await socket.SendAsync("""{"type":"HEALTH_CHECK"}"""u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        await _server.SendCommandAsync("job-after", "REBOOT", "{}");
        var response = await _server.WaitForFinalAsync("job-after", TimeSpan.FromSeconds(30));
        Assert.Equal("FAILED", response.GetProperty("status").GetString());
        Assert.True(_agent.Services.GetRequiredService<AgentConnectionService>().IsConnected);
    }

    private void AssertEveryMessageHasTheSeedShape()
    {
        foreach (var message in _server.Received)
        {
            Assert.Equal(JsonValueKind.String, message.GetProperty("job_id").ValueKind);
            Assert.Contains(message.GetProperty("status").GetString(), new[] { "RUNNING", "COMPLETED", "FAILED" });
            Assert.Equal(JsonValueKind.String, message.GetProperty("logs").ValueKind);
            Assert.Equal(JsonValueKind.String, message.GetProperty("error").ValueKind);
        }
    }
}

public sealed class AgentPolicyTests
{
    [Fact]
    public async Task WithAgentPolicyOnTheAgentRefusesAPrivilegedDeployAndWritesNothing()
    {
        await using var server = await SeedServer.StartAsync("policy-token-123");
        await using var agent = await TestAgent.StartAsync(server.Url, "policy-token-123", "policy-host",
            new Dictionary<string, string?> { ["AGENT_POLICY"] = "on", ["AGENT_POLICY_BIND_ALLOW"] = "/srv/apps" });
        await server.AgentConnected.WaitAsync(TimeSpan.FromSeconds(30));

        var compose = Convert.ToBase64String("services:\n  web:\n    image: x\n    network_mode: host\n"u8.ToArray());
        await server.SendCommandAsync("job-policy", "DEPLOY_COMPOSE", $$"""{"project_name":"app","compose_file_base64":"{{compose}}"}""");
        var response = await server.WaitForFinalAsync("job-policy", TimeSpan.FromSeconds(30));
        Assert.Equal("FAILED", response.GetProperty("status").GetString());
        Assert.Contains("deploy policy (AGENT_POLICY) refuses", response.GetProperty("error").GetString());
        Assert.Contains("network_mode: host", response.GetProperty("error").GetString());
        Assert.Empty(Directory.GetFileSystemEntries(agent.ProjectsDirectory));
    }
}

public sealed class WrongTokenTests
{
    [Fact]
    public async Task AnAgentWithTheWrongTokenIsRefusedAndKeepsRetryingWithoutConnecting()
    {
        await using var server = await SeedServer.StartAsync("the-right-token");
        await using var agent = await TestAgent.StartAsync(server.Url, "a-wrong-token", "wrong-token-host");
        await Eventually.TrueAsync(() => agent.Logs.Lines.Any(l => l.Contains("refused this agent's token (HTTP 401)")),
            TimeSpan.FromSeconds(10), "the agent to say its token was refused");
        Assert.False(server.AgentConnected.IsCompleted);
        Assert.DoesNotContain(agent.Logs.Lines, l => l.Contains("a-wrong-token"));
        Assert.False(agent.Services.GetRequiredService<AgentConnectionService>().IsConnected);
    }
}
