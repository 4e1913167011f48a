using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests.Rollouts;

/// <summary>
/// Rollouts to three real agents on the real Docker engine. The three share one engine, where one compose project name
/// would be one set of containers; so each agent runs docker through a wrapper that gives its compose projects a
/// suffix of its own (as three servers would each have their own engine). Everything else is the real agent.
/// </summary>
public sealed class RolloutDockerTests : IAsyncLifetime
{
    private static readonly string[] Agents = ["ro-e2e-1", "ro-e2e-2", "ro-e2e-3"];
    private readonly ControlPlaneFactory _controlPlane = new(new Dictionary<string, string?> { ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000" });
    private readonly List<TestAgent> _agents = [];
    private readonly string _wrappers = Directory.CreateTempSubdirectory("instadeploy-docker-wrap-").FullName;
    private readonly string _project = "ro" + Guid.NewGuid().ToString("N")[..8];
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        _api = _controlPlane.CreateApiClient();
        foreach (var agent in Agents)
        {
            var docker = await WrapAsync("docker", agent);
            var compose = await WrapAsync("docker-compose", agent);
            _agents.Add(await TestAgent.StartAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, agent, new Dictionary<string, string?>
            {
                ["DOCKER_PATH"] = docker,
                ["DOCKER_COMPOSE_PATH"] = compose,
                ["AGENT_LABELS"] = $"role=ro-e2e,name={agent}",
            }));
        }
        foreach (var agent in Agents) await _api.WaitForAgentOnlineAsync(agent);
    }

    /// <summary>A script that runs <paramref name="program"/> with the agent's compose projects suffixed: the value
    /// after "-p", and the project label of a filter.</summary>
    private async Task<string> WrapAsync(string program, string agent)
    {
        var wrapper = Path.Combine(_wrappers, $"{program}-{agent}");
        await File.WriteAllTextAsync(wrapper, $$"""
            #!/usr/bin/env bash
            args=(); prev=""
            for a in "$@"; do
              original="$a"
              if [ "$prev" = "-p" ]; then a="$a-{{agent}}"; fi
              case "$a" in label=com.docker.compose.project=*) a="$a-{{agent}}";; esac
              args+=("$a"); prev="$original"
            done
            exec {{program}} "${args[@]}"

            """);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return wrapper;
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in Agents) await FleetFixture.RemoveProjectContainersAsync(ComposeProject(agent));
        foreach (var agent in _agents) await agent.DisposeAsync();
        _api.Dispose();
        await _controlPlane.DisposeAsync();
        try { Directory.Delete(_wrappers, recursive: true); } catch (IOException) { }
    }

    private string ComposeProject(string agent) => $"{_project}-{agent}";

    /// <summary>A service labelled with its version; with <paramref name="gated"/>, healthy only where HEALTHY is not "false".</summary>
    private static string Compose(string version, bool gated = false) => Convert.ToBase64String(Encoding.UTF8.GetBytes($$"""
        services:
          web:
            image: local/busybox:1
            command: ["sleep", "600"]
            init: true
            labels:
              instadeploy.test.version: "{{version}}"
        {{(gated ? """
            environment:
              HEALTHY: ${HEALTHY:-true}
            healthcheck:
              test: ["CMD", "sh", "-c", "test \"$$HEALTHY\" != false"]
              interval: 1s
              retries: 1
        """ : "")}}
        """));

    /// <summary>What docker itself says runs for the project on that agent: the version label of its running container.</summary>
    private async Task<string?> RunningVersionAsync(string agent)
    {
        var names = await DockerCli.ContainersOfProjectAsync(ComposeProject(agent), runningOnly: true);
        if (names.Length == 0) return null;
        var (_, output) = await DockerCli.RunAsync("inspect", "--format", "{{ index .Config.Labels \"instadeploy.test.version\" }}", Assert.Single(names));
        return output.Trim();
    }

    private async Task<JsonElement> RollOutAsync(object strategy, string compose, Func<JsonElement, bool> until, string what)
    {
        using var response = await _api.PostJsonAsync("/rollouts", new { project_name = _project, compose_file_base64 = compose, targets = new { selector = "role=ro-e2e" }, strategy });
        var created = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, created.GetRawText());
        var id = created.GetProperty("rollout_id").GetString()!;
        JsonElement rollout = default;
        await Eventually.TrueAsync(async () => until(rollout = await _api.GetJsonAsync($"/rollouts/{id}")), TimeSpan.FromMinutes(3), $"rollout {id} {what}");
        return rollout;
    }

    private static bool Is(JsonElement rollout, string state) => rollout.GetProperty("state").GetString() == state;

    [Fact]
    public async Task ARolloutReachesAllThreeAgentsAndAFailingHealthGatePausesItThenRollbackRestoresThePreviousRevision()
    {
        var v1 = await RollOutAsync(new { max_parallel = 3 }, Compose("v1"), r => !RolloutOpen(r), "to finish");
        Assert.True(Is(v1, "succeeded"), v1.GetRawText());
        foreach (var agent in Agents) Assert.Equal("v1", await RunningVersionAsync(agent));

        // v2's health check fails on agent 2 only (its own variable), so agent 1 gets v2 and agent 2 fails its gate.
        using (var variable = await _api.PutAsJsonAsync($"/deployments/{_project}/env/HEALTHY", new { value = "false", agent_id = Agents[1] }, Api.Json))
            Assert.Equal(HttpStatusCode.OK, variable.StatusCode);

        var paused = await RollOutAsync(new { max_parallel = 1, max_failures = 1, on_failure = "pause", health_wait_seconds = 8 }, Compose("v2", gated: true),
            r => !Is(r, "pending") && !Is(r, "running"), "to stop going on");
        Assert.True(Is(paused, "paused"), paused.GetRawText());
        Assert.Equal(["succeeded", "failed", "waiting"], paused.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("state").GetString()));
        Assert.Equal("v2", await RunningVersionAsync(Agents[0]));
        Assert.Equal("v1", await RunningVersionAsync(Agents[2])); // never reached
        using (var cancel = await _api.PostAsync($"/rollouts/{paused.GetProperty("rollout_id").GetString()}/cancel", null))
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);

        // Back to v1 everywhere first, then the same v2 with on_failure rollback.
        var again = await RollOutAsync(new { max_parallel = 3 }, Compose("v1"), r => !RolloutOpen(r), "to finish");
        Assert.True(Is(again, "succeeded"), again.GetRawText());
        var rolledBack = await RollOutAsync(new { max_parallel = 1, max_failures = 1, on_failure = "rollback", health_wait_seconds = 8 }, Compose("v2", gated: true),
            r => !RolloutOpen(r), "to finish");
        Assert.True(Is(rolledBack, "rolled_back"), rolledBack.GetRawText());
        var targets = rolledBack.GetProperty("targets").EnumerateArray().ToList();
        Assert.Equal(["rolled_back", "rolled_back", "cancelled"], targets.Select(t => t.GetProperty("state").GetString()));
        foreach (var agent in Agents) Assert.Equal("v1", await RunningVersionAsync(agent));
        var restored = await _api.GetJsonAsync($"/deployments/{_project}/revisions/{targets[0].GetProperty("rollback_revision").GetInt32()}");
        Assert.Equal(targets[0].GetProperty("previous_revision").GetInt32(), restored.GetProperty("rollback_of").GetInt32());
    }

    private static bool RolloutOpen(JsonElement rollout) => rollout.GetProperty("state").GetString() is "pending" or "running" or "rolling_back";
}
