using System.Net;
using System.Net.Sockets;
using System.Text;
using Aspire.Hosting;

namespace InstaDeploy.AppHost.Tests;

/// <summary>The whole AppHost, started once for the class: control plane plus three agents, as `dotnet run` starts it.</summary>
public sealed class FleetFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan HealthyTimeout = TimeSpan.FromMinutes(4);
    private const string AdminApiKey = "idk_apphost-test-admin-key-0123456789";
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("instadeploy-fleet-").FullName;

    public DistributedApplication App { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.InstaDeploy_AppHost>(
        [
            $"--InstaDeploy:ControlPlanePort={FreePort()}",
            $"--InstaDeploy:DataDirectory={_dataDirectory}",
        ]);
        builder.Configuration["Parameters:admin-api-key"] = AdminApiKey;
        App = await builder.BuildAsync().WaitAsync(StartTimeout);
        await App.StartAsync().WaitAsync(StartTimeout);
        await ResourceStartup.WaitHealthyAsync(App, ["control-plane"], HealthyTimeout);
        Api = App.CreateHttpClient("control-plane");
        Api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminApiKey);
    }

    public async Task DisposeAsync()
    {
        Api?.Dispose();
        if (App is not null) await App.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[Collection(FleetCollection.Name)]
public sealed class FleetTests(FleetFixture fleet) : IClassFixture<FleetFixture>
{
    private static readonly string[] Agents = ["agent-1", "agent-2", "agent-3"];

    [Fact]
    public async Task TheFleetBringsUpThreeAgentsThatEachRunADeploy()
    {
        foreach (var agent in Agents)
            await fleet.Api.WaitForAgentOnlineAsync(agent, TimeSpan.FromMinutes(2));
        var listed = await fleet.Api.GetJsonAsync("/agents");
        Assert.Equal(Agents, listed.EnumerateArray().Select(a => a.GetProperty("id").GetString()));

        var deploys = new Dictionary<string, string>();
        try
        {
            foreach (var agent in Agents)
            {
                var compose = $"services:\n  web:\n    image: local/busybox:1\n    command: [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n    init: true\n    ports:\n      - \"127.0.0.1:{FleetFixture.FreePort()}:8080\"\n";
                using var response = await fleet.Api.PostJsonAsync("/deploy", new
                {
                    project_name = $"fleet-{agent}",
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
                Assert.Single(await DockerCli.ContainersOfProjectAsync($"fleet-{agent}", runningOnly: true));
            }
        }
        finally
        {
            foreach (var agent in Agents)
            {
                using var stop = await fleet.Api.PostJsonAsync("/stop", new { project_name = $"fleet-{agent}", agent_id = agent });
                if (stop.StatusCode == HttpStatusCode.Accepted)
                    await fleet.Api.WaitForJobAsync((await stop.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(1));
                foreach (var name in await DockerCli.ContainersOfProjectAsync($"fleet-{agent}"))
                    await DockerCli.RunAsync("rm", "-f", name);
            }
        }
    }

    [Fact]
    public async Task EachAgentGetsItsOwnHostnameAndProjectsFolderAndTheGeneratedToken()
    {
        foreach (var agent in Agents)
            await fleet.Api.WaitForAgentOnlineAsync(agent, TimeSpan.FromMinutes(2));
        using var response = await fleet.Api.PostAsync("/agents/agent-3/health", null);
        var job = await fleet.Api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(1));
        var report = job.GetProperty("result");
        Assert.Equal("agent-3", report.GetProperty("agent").GetProperty("hostname").GetString());
        Assert.EndsWith(Path.Combine("agent-3", "projects"), report.GetProperty("projects_dir").GetProperty("path").GetString());
        Assert.Equal(2, report.GetProperty("plugins").GetArrayLength());
    }
}
