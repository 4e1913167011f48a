using System.Net;
using System.Text;

namespace InstaDeploy.EndToEnd.Tests;

/// <summary>The example third-party plugin, dropped onto a running agent, becomes a command the REST API runs.</summary>
public sealed class PluginDeliveryTests : IAsyncLifetime
{
    private readonly ControlPlaneFactory _controlPlane = new();
    private readonly string _plugins = Directory.CreateTempSubdirectory("instadeploy-e2e-plugins-").FullName;
    private TestAgent _agent = null!;
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        foreach (var builtIn in Directory.GetDirectories(Path.Combine(AppContext.BaseDirectory, "plugins")))
            CopyFolder(builtIn, Path.Combine(_plugins, Path.GetFileName(builtIn)));
        _api = _controlPlane.CreateApiClient();
        _agent = await TestAgent.StartAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, "plugin-agent",
            new Dictionary<string, string?> { ["AGENT_PLUGINS_DIR"] = _plugins });
        await _api.WaitForAgentOnlineAsync("plugin-agent");
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _api.Dispose();
        await _controlPlane.DisposeAsync();
        try { Directory.Delete(_plugins, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
    }

    private async Task<string[]> CommandTypesAsync() =>
        (await _api.GetJsonAsync("/agents/plugin-agent")).GetProperty("command_types").EnumerateArray().Select(t => t.GetString()!).ToArray();

    [Fact]
    public async Task TheExamplePluginDroppedOntoARunningAgentRestartsAProjectOverRest()
    {
        var project = E2E.Project("restart");
        try
        {
            await Eventually.TrueAsync(async () => (await CommandTypesAsync()).Length == 6, TimeSpan.FromSeconds(10), "the agent to report its plugins (six command types)");
            var agent = await _api.GetJsonAsync("/agents/plugin-agent");
            Assert.Equal(["InstaDeploy.Agent.Plugins.Compose", "InstaDeploy.Agent.Plugins.Health"],
                agent.GetProperty("plugins").EnumerateArray().Select(p => p.GetProperty("name").GetString()));

            using (var refused = await _api.PostJsonAsync("/agents/plugin-agent/commands", new { type = "RESTART_COMPOSE", payload = new { project_name = project } }))
            {
                Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
                Assert.Contains("it runs: DEPLOY_COMPOSE, HEALTH_CHECK, LOGS, REGISTRY_LOGIN, STATUS, STOP_COMPOSE", (await refused.ReadJsonAsync()).GetProperty("detail").GetString());
            }

            var compose = "services:\n  web:\n    image: local/busybox:1\n    command: [\"sleep\", \"600\"]\n    init: true\n";
            using (var deploy = await _api.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(compose)) }))
                Assert.Equal("COMPLETED", (await _api.WaitForJobAsync((await deploy.ReadJsonAsync()).GetProperty("job_id").GetString()!)).GetProperty("status").GetString());
            var container = Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
            var (_, startedBefore) = await DockerCli.RunAsync("inspect", "--format", "{{.State.StartedAt}}", container);

            var dropped = DateTime.UtcNow;
            CopyFolder(Path.Combine(AppContext.BaseDirectory, "test-plugins", "RestartCompose"), Path.Combine(_plugins, "RestartCompose"));
            await Eventually.TrueAsync(async () => (await CommandTypesAsync()).Contains("RESTART_COMPOSE"), TimeSpan.FromSeconds(10), "RESTART_COMPOSE to be reported");
            Assert.True(DateTime.UtcNow - dropped < TimeSpan.FromSeconds(10));

            using var restart = await _api.PostJsonAsync("/agents/plugin-agent/commands", new { type = "RESTART_COMPOSE", payload = new { project_name = project } });
            Assert.Equal(HttpStatusCode.Accepted, restart.StatusCode);
            var job = await _api.WaitForJobAsync((await restart.ReadJsonAsync()).GetProperty("job_id").GetString()!);
            Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
            Assert.Equal(project, job.GetProperty("project_name").GetString());
            Assert.Contains($"Project '{project}' restarted", job.GetProperty("logs").GetString());
            var (_, startedAfter) = await DockerCli.RunAsync("inspect", "--format", "{{.State.StartedAt}}", container);
            Assert.NotEqual(startedBefore.Trim(), startedAfter.Trim());

            Directory.Delete(Path.Combine(_plugins, "RestartCompose"), recursive: true);
            await Eventually.TrueAsync(async () => !(await CommandTypesAsync()).Contains("RESTART_COMPOSE"), TimeSpan.FromSeconds(10), "RESTART_COMPOSE to be gone");
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Theory]
    [InlineData("{\"type\":\"restart\"}", "type")]
    [InlineData("{\"type\":\"RESTART_COMPOSE\",\"payload\":[1]}", "payload")]
    [InlineData("{\"type\":\"RESTART_COMPOSE\",\"payload\":{\"project_name\":\"../x\"}}", "payload.project_name")]
    public async Task ABadGenericCommandIsRefusedAndNothingIsSent(string body, string field)
    {
        using var response = await _api.PostAsync("/agents/plugin-agent/commands", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith(field, (await response.ReadJsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(0, (await _api.GetJsonAsync("/jobs")).GetArrayLength());
    }
}
