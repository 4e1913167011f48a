using System.Collections.Concurrent;
using System.Text.Json;

namespace InstaDeploy.Cli.Tests.Rollouts;

/// <summary>
/// A control plane of its own with two real agents on the real Docker engine, <c>web-1</c> (<c>role=web,zone=a</c>) and
/// <c>web-2</c> (<c>role=web,zone=b</c>), and six simulated agents speaking the wire protocol, <c>sim-0</c>…<c>sim-5</c>
/// (<c>role=sim,index=N</c>), whose timing and failures a test sets. The two real agents share one engine, where one
/// compose project name would be one set of containers; so each runs docker through a wrapper that gives its compose
/// projects a suffix of its own (as two servers would each have their own engine).
/// </summary>
public sealed class RolloutFleetFixture : IAsyncLifetime
{
    public static readonly string[] WebAgents = ["web-1", "web-2"];
    public const int SimulatedCount = 6;

    private readonly string _wrappers = Directory.CreateTempSubdirectory("instadeploy-cli-docker-wrap-").FullName;
    private readonly List<TestAgent> _agents = [];
    private readonly ConcurrentBag<string> _projects = [];

    public ControlPlaneFactory ControlPlane { get; } = new(new Dictionary<string, string?> { ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000" });

    public SimulatedFleet Simulated { get; private set; } = null!;

    /// <summary>Indexes of the simulated agents whose deploys of a project named <c>fail-…</c> fail.</summary>
    public ConcurrentDictionary<int, bool> Failing { get; } = new();

    public HttpClient Api { get; private set; } = null!;

    public Uri Url => ControlPlane.BaseAddress;

    public static string SimAgent(int index) => $"sim-{index}";

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        Api = ControlPlane.CreateApiClient();
        foreach (var (agent, zone) in WebAgents.Zip(["a", "b"]))
        {
            _agents.Add(await TestAgent.StartAsync(ControlPlane.WebSocketUrl, ControlPlane.AgentToken, agent, new Dictionary<string, string?>
            {
                ["DOCKER_PATH"] = await WrapAsync("docker", agent),
                ["DOCKER_COMPOSE_PATH"] = await WrapAsync("docker-compose", agent),
                ["AGENT_LABELS"] = $"role=web,zone={zone}",
            }));
        }
        Simulated = new SimulatedFleet(ControlPlane.WebSocketUrl, ControlPlane.AgentToken)
        {
            DeployTime = TimeSpan.FromMilliseconds(300),
            Outcome = (agent, type, payload) =>
                type == "DEPLOY_COMPOSE" && payload.GetProperty("project_name").GetString()!.StartsWith("fail-", StringComparison.Ordinal)
                    && Failing.ContainsKey(int.Parse(agent["sim-".Length..], System.Globalization.CultureInfo.InvariantCulture))
                    ? ("FAILED", "container web is unhealthy")
                    : ("COMPLETED", ""),
        };
        for (var i = 0; i < SimulatedCount; i++) Simulated.Start(SimAgent(i), $"role=sim,index={i}");
        foreach (var agent in WebAgents) await Api.WaitForAgentOnlineAsync(agent);
        await Simulated.WaitConnectedAsync(SimulatedCount, TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(async () => (await Api.GetJsonAsync("/agents?selector=role=sim")).GetArrayLength() == SimulatedCount,
            TimeSpan.FromSeconds(30), "the simulated agents to be stored with their labels");
    }

    /// <summary>A script that runs <paramref name="program"/> with the agent's compose projects suffixed: the value after
    /// "-p", and the project label of a filter.</summary>
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

    /// <summary>A project name for a test's containers on the web agents, removed with them at the end.</summary>
    public string Project(string prefix)
    {
        var project = CliFixture.UniqueProject(prefix);
        _projects.Add(project);
        return project;
    }

    /// <summary>The compose project a web agent runs <paramref name="project"/> as on the shared engine.</summary>
    public static string ComposeProject(string project, string agent) => $"{project.ToLowerInvariant()}-{agent}";

    /// <summary>What docker itself says runs for the project on a web agent: the version label of each running container.</summary>
    public static async Task<string[]> RunningVersionsAsync(string project, string agent)
    {
        var versions = new List<string>();
        foreach (var container in await DockerCli.ContainersOfProjectAsync(ComposeProject(project, agent), runningOnly: true))
            versions.Add((await DockerCli.RunAsync("inspect", "-f", "{{index .Config.Labels \"version\"}}", container)).Output.Trim());
        return [.. versions];
    }

    /// <summary>A service labelled with its version; with <paramref name="gated"/>, healthy only where the project's
    /// variable HEALTHY is not "false".</summary>
    public static string Compose(string version, bool gated = false) => $$"""
        services:
          web:
            image: local/busybox:1
            command: ["sleep", "600"]
            init: true
            labels:
              version: "{{version}}"
        {{(gated ? """
            environment:
              HEALTHY: ${HEALTHY:-true}
            healthcheck:
              test: ["CMD", "sh", "-c", "test \"$$HEALTHY\" != false"]
              interval: 1s
              retries: 1
        """ : "")}}
        """;

    /// <summary>A user whose context "rollouts" is this control plane, with the admin key.</summary>
    public async Task<CliUser> LoggedInUserAsync()
    {
        var user = new CliUser();
        await user.LogInAsync("rollouts", Url, ControlPlaneFactory.AdminApiKey);
        return user;
    }

    public async Task<JsonElement> RolloutAsync(string id) => await Api.GetJsonAsync($"/rollouts/{id}");

    public async Task DisposeAsync()
    {
        foreach (var project in _projects)
            foreach (var agent in WebAgents)
            {
                var compose = ComposeProject(project, agent);
                foreach (var name in await DockerCli.ContainersOfProjectAsync(compose)) await DockerCli.RunAsync("rm", "-f", name);
                await DockerCli.RunAsync("network", "rm", $"{compose}_default");
            }
        await Simulated.DisposeAsync();
        foreach (var agent in _agents) await agent.DisposeAsync();
        Api.Dispose();
        await ControlPlane.DisposeAsync();
        try { Directory.Delete(_wrappers, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class RolloutCollection : ICollectionFixture<RolloutFleetFixture>
{
    public const string Name = "CLI rollouts against a control plane, two real agents and simulated ones";
}
