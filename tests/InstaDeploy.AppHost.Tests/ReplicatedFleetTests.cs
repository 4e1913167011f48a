using System.Net;
using System.Text;
using Aspire.Hosting;

namespace InstaDeploy.AppHost.Tests;

/// <summary>The AppHost with --InstaDeploy:ControlPlaneReplicas=3, started once: a local PostgreSQL (the machine's own
/// binaries), three control-plane instances on it, HAProxy in front, two agents dialing HAProxy.</summary>
public sealed class ReplicatedFleetFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    // One budget for the whole chain (PostgreSQL, then the first instance migrating it, then the two others and
    // HAProxy), on a CI machine whose other lane runs the end-to-end suite at the same time.
    private static readonly TimeSpan HealthyTimeout = TimeSpan.FromMinutes(6);
    public const string AdminApiKey = "idk_apphost-replicas-admin-key-0123456789";
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("instadeploy-replicas-").FullName;

    public DistributedApplication App { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.InstaDeploy_AppHost>(
        [
            "--InstaDeploy:ControlPlaneReplicas=3",
            "--InstaDeploy:AgentCount=2",
            $"--InstaDeploy:ControlPlanePort={FleetFixture.FreePort()}",
            $"--InstaDeploy:PostgresPort={FleetFixture.FreePort()}",
            $"--InstaDeploy:DataDirectory={_dataDirectory}",
        ]);
        builder.Configuration["Parameters:admin-api-key"] = AdminApiKey;
        App = await builder.BuildAsync().WaitAsync(StartTimeout);
        await App.StartAsync().WaitAsync(StartTimeout);
        await ResourceStartup.WaitHealthyAsync(App, ["postgres", "control-plane-1", "control-plane-2", "control-plane-3", "haproxy"], HealthyTimeout);
        Api = Client("haproxy");
    }

    public HttpClient Client(string resource)
    {
        var client = App.CreateHttpClient(resource);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminApiKey);
        return client;
    }

    public async Task DisposeAsync()
    {
        Api?.Dispose();
        if (App is not null) await App.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[Collection(FleetCollection.Name)]
public sealed class ReplicatedFleetTests(ReplicatedFleetFixture fleet) : IClassFixture<ReplicatedFleetFixture>
{
    private static readonly string[] Agents = ["agent-1", "agent-2"];

    [Fact]
    public async Task ThreeReplicasBehindHaproxyShareTheAgentsAndEachDeployCompletes()
    {
        foreach (var agent in Agents)
            await fleet.Api.WaitForAgentOnlineAsync(agent, TimeSpan.FromMinutes(2));
        // Every instance sees both agents online, wherever each is connected: one store.
        foreach (var instance in new[] { "control-plane-1", "control-plane-2", "control-plane-3" })
        {
            using var api = fleet.Client(instance);
            var listed = await api.GetJsonAsync("/agents");
            Assert.Equal(Agents, listed.EnumerateArray().Where(a => a.GetProperty("online").GetBoolean()).Select(a => a.GetProperty("id").GetString()).Order());
        }

        var run = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
        var deploys = new Dictionary<string, string>();
        try
        {
            foreach (var agent in Agents)
            {
                const string compose = "services:\n  web:\n    image: local/busybox:1\n    command: [\"sleep\", \"86400\"]\n    init: true\n    network_mode: none\n";
                using var response = await fleet.Api.PostJsonAsync("/deploy", new
                {
                    project_name = $"replicas-{agent}-{run}",
                    agent_id = agent,
                    compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(compose)),
                });
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                deploys[agent] = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
            }
            foreach (var (agent, jobId) in deploys)
            {
                var job = await fleet.Api.WaitForJobAsync(jobId, TimeSpan.FromMinutes(2));
                Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
                Assert.Equal(agent, job.GetProperty("agent_id").GetString());
                Assert.Single(await DockerCli.ContainersOfProjectAsync($"replicas-{agent}-{run}", runningOnly: true));
            }
        }
        finally
        {
            foreach (var agent in Agents)
            {
                using var stop = await fleet.Api.PostJsonAsync("/stop", new { project_name = $"replicas-{agent}-{run}", agent_id = agent });
                if (stop.StatusCode == HttpStatusCode.Accepted)
                    await fleet.Api.WaitForJobAsync((await stop.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(1));
                foreach (var name in await DockerCli.ContainersOfProjectAsync($"replicas-{agent}-{run}"))
                    await DockerCli.RunAsync("rm", "-f", name);
            }
        }
    }
}
