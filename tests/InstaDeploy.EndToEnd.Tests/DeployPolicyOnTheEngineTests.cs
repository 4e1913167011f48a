using System.Net;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests;

/// <summary>
/// A control plane without INSTADEPLOY_POLICY, one agent with AGENT_POLICY=on and one without, on the real engine with
/// the compose that is installed: the agent's check on the model compose resolves is what stands between a compose
/// file and the host.
/// </summary>
public sealed class PolicyFleetFixture : IAsyncLifetime
{
    public const string GuardedAgent = "policy-agent";
    public const string OpenAgent = "open-agent";

    public ControlPlaneFactory ControlPlane { get; } = new();

    public TestAgent Guarded { get; private set; } = null!;

    public TestAgent Open { get; private set; } = null!;

    public HttpClient Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        Admin = ControlPlane.CreateApiClient();
        Guarded = await TestAgent.StartAsync(ControlPlane.WebSocketUrl, ControlPlane.AgentToken, GuardedAgent,
            new Dictionary<string, string?> { ["AGENT_POLICY"] = "on", ["AGENT_POLICY_CAP_ADD_ALLOW"] = "" });
        Open = await TestAgent.StartAsync(ControlPlane.WebSocketUrl, ControlPlane.AgentToken, OpenAgent);
        await Admin.WaitForAgentOnlineAsync(GuardedAgent);
        await Admin.WaitForAgentOnlineAsync(OpenAgent);
    }

    public async Task DisposeAsync()
    {
        await Guarded.DisposeAsync();
        await Open.DisposeAsync();
        Admin.Dispose();
        await ControlPlane.DisposeAsync();
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DeployPolicyOnTheEngineTests(PolicyFleetFixture fleet) : IClassFixture<PolicyFleetFixture>
{
    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static string UniqueProject(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    private static async Task<JsonElement> RunAsync(HttpClient api, object body, string path = "/deploy")
    {
        using var response = await api.PostJsonAsync(path, body);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(2));
    }

    private static async Task CleanUpAsync(string project)
    {
        await FleetFixture.RemoveProjectContainersAsync(project);
        foreach (var volume in (await DockerCli.RunAsync("volume", "ls", "-q", "--filter", $"label=com.docker.compose.project={project}")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            await DockerCli.RunAsync("volume", "rm", "-f", volume.Trim());
    }

    public static IEnumerable<object[]> AttackFiles() => PolicyAttackFiles.Names();

    [Theory]
    [MemberData(nameof(AttackFiles))]
    public async Task EveryAttackFileIsRefusedByTheAgentsCheckAndNothingRuns(string name)
    {
        var file = PolicyAttackFiles.Named(name);
        var project = UniqueProject("atk");
        var folder = Path.Combine(fleet.Guarded.ProjectsDirectory, project);
        if (!file.ControlPlaneSees)
        {
            // What a container with ./data mounted can do: plant a link to the host's root in the project folder.
            Directory.CreateDirectory(Path.Combine(folder, "data"));
            File.CreateSymbolicLink(Path.Combine(folder, "data", "r"), "/");
        }
        try
        {
            var job = await RunAsync(fleet.Admin, new { project_name = project, compose_file_base64 = Base64(file.Yaml), agent_id = PolicyFleetFixture.GuardedAgent, health_wait_seconds = 0 });
            var error = job.GetProperty("error").GetString()!;
            Assert.True(job.GetProperty("status").GetString() == "FAILED", job.GetRawText());
            Assert.Contains("this agent's deploy policy (AGENT_POLICY) refuses the compose file", error);
            // Refused by the policy, naming each attack, or by compose itself (a key or form this compose does not read).
            if (!error.Contains("compose cannot resolve the project", StringComparison.Ordinal))
                foreach (var attack in file.Attacks)
                    Assert.True(error.Contains($"'{attack}'", StringComparison.Ordinal), $"{name}: the refusal does not name {attack}: {error}");
            Assert.Empty(await DockerCli.ContainersOfProjectAsync(project));
            Assert.False(File.Exists(Path.Combine(folder, "docker-compose.yml")), "a refused deploy writes nothing");
        }
        finally
        {
            await CleanUpAsync(project);
        }
    }

    [Fact]
    public async Task AnOrdinaryFileDeploysAndRunsWithThePolicyOn()
    {
        var project = UniqueProject("ordinary");
        Directory.CreateDirectory(Path.Combine(fleet.Guarded.ProjectsDirectory, project, "data")); // a long-syntax bind needs its source
        try
        {
            var job = await RunAsync(fleet.Admin, new { project_name = project, compose_file_base64 = Base64(PolicyAttackFiles.Ordinary("shared-settings.yml")), agent_id = PolicyFleetFixture.GuardedAgent });
            Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
            Assert.Equal(2, (await DockerCli.ContainersOfProjectAsync(project, runningOnly: true)).Length);
            Assert.Equal("hello", File.ReadAllText(Path.Combine(fleet.Guarded.ProjectsDirectory, project, "data", "greeting")).Trim());
        }
        finally
        {
            await CleanUpAsync(project);
        }
    }

    [Fact]
    public async Task ALinkPlantedByOneDeploysContainerDoesNotOpenTheHostToTheNext()
    {
        var project = UniqueProject("plant");
        const string planter = """
            services:
              web:
                image: local/busybox:1
                command: ["sh", "-c", "ln -s / /data/r && sleep 600"]
                init: true
                volumes: ["./data:/data"]
            """;
        try
        {
            var first = await RunAsync(fleet.Admin, new { project_name = project, compose_file_base64 = Base64(planter), agent_id = PolicyFleetFixture.GuardedAgent });
            Assert.True(first.GetProperty("status").GetString() == "COMPLETED", first.GetRawText());
            var link = Path.Combine(fleet.Guarded.ProjectsDirectory, project, "data", "r");
            await Eventually.TrueAsync(() => Task.FromResult(new FileInfo(link).LinkTarget == "/"), TimeSpan.FromSeconds(20), "the container to plant data/r -> /");

            var second = await RunAsync(fleet.Admin, new { project_name = project, compose_file_base64 = Base64(PolicyAttackFiles.Named("26-symlinked-bind").Yaml), agent_id = PolicyFleetFixture.GuardedAgent });
            var error = second.GetProperty("error").GetString()!;
            Assert.Equal("FAILED", second.GetProperty("status").GetString());
            Assert.Contains("service 'attack-link' bind-mounts", error);
            Assert.Contains("through a symbolic link: '/'", error);
            Assert.DoesNotContain("attack-link", string.Join(' ', await DockerCli.ContainersOfProjectAsync(project)));
        }
        finally
        {
            await CleanUpAsync(project);
        }
    }

    [Fact]
    public async Task TheAutomaticRollbackChecksTheRevisionItTakesFromTheHistory()
    {
        var project = UniqueProject("history");
        const string good = "services:\n  web:\n    image: local/busybox:1\n    command: [\"sleep\", \"600\"]\n    init: true\n";
        const string crashing = "services:\n  web:\n    image: local/busybox:1\n    command: [\"sh\", \"-c\", \"sleep 0.3; exit 3\"]\n    init: true\n";
        try
        {
            var first = await RunAsync(fleet.Admin, new { project_name = project, compose_file_base64 = Base64(good), agent_id = PolicyFleetFixture.GuardedAgent });
            Assert.True(first.GetProperty("status").GetString() == "COMPLETED", first.GetRawText());
            // What a container that could write the project folder would do: rewrite the revision a rollback runs.
            var history = Path.Combine(fleet.Guarded.ProjectsDirectory, project, ".instadeploy", "history");
            var saved = Path.Combine(Assert.Single(Directory.GetDirectories(history)), "docker-compose.yml");
            File.WriteAllText(saved, good + "    privileged: true\n    volumes: [\"/:/host\"]\n");

            var second = await RunAsync(fleet.Admin, new { project_name = project, compose_file_base64 = Base64(crashing), agent_id = PolicyFleetFixture.GuardedAgent, rollback_on_failure = true, health_wait_seconds = 20 });
            var error = second.GetProperty("error").GetString()!;
            Assert.Equal("FAILED", second.GetProperty("status").GetString());
            Assert.Contains("not rolled back to revision", error);
            Assert.Contains("service 'web' sets privileged: true", error);
            Assert.Contains("bind-mounts '/'", error);
            var (_, inspect) = await DockerCli.RunAsync(["inspect", "--format", "{{.HostConfig.Privileged}}", .. await DockerCli.ContainersOfProjectAsync(project)]);
            Assert.DoesNotContain("true", inspect);
        }
        finally
        {
            await CleanUpAsync(project);
        }
    }

    [Fact]
    public async Task ADeployKeyWithoutHostAccessHasThePolicyAppliedByTheControlPlaneAndByTheAgent()
    {
        using var created = await fleet.Admin.PostJsonAsync("/api-keys", new { name = "ci", scopes = new[] { "deploy" } });
        var key = (await created.ReadJsonAsync()).GetProperty("key").GetString()!;
        using var restricted = fleet.ControlPlane.CreateApiClient(key);
        var project = UniqueProject("perkey");
        var folder = Path.Combine(fleet.Open.ProjectsDirectory, project);
        try
        {
            // What the control plane can see, it refuses before anything is sent (INSTADEPLOY_POLICY is off here).
            using (var refused = await restricted.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = Base64(PolicyAttackFiles.Named("01-privileged").Yaml), agent_id = PolicyFleetFixture.OpenAgent }))
            {
                Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
                Assert.Contains("(this API key has no host access)", (await refused.ReadJsonAsync()).GetProperty("detail").GetString());
            }
            // What only the agent can see, the agent refuses: the command told it to apply the policy (AGENT_POLICY is off there).
            Directory.CreateDirectory(Path.Combine(folder, "data"));
            File.CreateSymbolicLink(Path.Combine(folder, "data", "r"), "/");
            var job = await RunAsync(restricted, new { project_name = project, compose_file_base64 = Base64(PolicyAttackFiles.Named("26-symlinked-bind").Yaml), agent_id = PolicyFleetFixture.OpenAgent, health_wait_seconds = 0 });
            Assert.Equal("FAILED", job.GetProperty("status").GetString());
            Assert.Contains("deploy policy (sent with the command by the control plane) refuses", job.GetProperty("error").GetString());
            Assert.Empty(await DockerCli.ContainersOfProjectAsync(project));

            // The admin key has host access: it may bind a host folder, on the agent without AGENT_POLICY.
            var hostFolder = Directory.CreateTempSubdirectory("instadeploy-host-").FullName;
            var bindsHost = $"services:\n  web:\n    image: local/busybox:1\n    command: [\"sleep\", \"600\"]\n    init: true\n    volumes: [\"{hostFolder}:/x\"]\n";
            var admin = await RunAsync(fleet.Admin, new { project_name = project, compose_file_base64 = Base64(bindsHost), agent_id = PolicyFleetFixture.OpenAgent, health_wait_seconds = 0 });
            Assert.True(admin.GetProperty("status").GetString() == "COMPLETED", admin.GetRawText());
            var revision = (await fleet.Admin.GetJsonAsync($"/deployments/{project}/revisions"))[0].GetProperty("revision").GetInt32();

            // A rollback by the restricted key is checked the same way: it may not deploy that revision again.
            using var rollback = await restricted.PostJsonAsync($"/deployments/{project}/rollback", new { revision, agent_id = PolicyFleetFixture.OpenAgent });
            Assert.Equal(HttpStatusCode.BadRequest, rollback.StatusCode);
            var detail = (await rollback.ReadJsonAsync()).GetProperty("detail").GetString();
            Assert.Contains($"revision {revision} is refused by the deploy policy now in force: service 'web' bind-mounts '{hostFolder}'", detail);
            Assert.Contains("(this API key has no host access)", detail);
        }
        finally
        {
            await CleanUpAsync(project);
        }
    }
}
