using System.Net;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests.Reliability;

/// <summary>
/// Crashes and network cuts with real processes and the real Docker engine: every job reaches its true final state,
/// none is lost, none runs twice, and what the control plane reports matches what runs. Each scenario runs several
/// times (the theory's cases); one failing run fails the test.
/// </summary>
public sealed class FaultTests
{
    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>A deploy that takes about five seconds.</summary>
    private static string SlowCompose() => TestComposeFiles.Slow(readyAfterSeconds: 4);

    /// <summary>
    /// A deploy that is quick; with no network of its own, since the engine's address pools hold only ~30 networks and
    /// a test that puts 24 projects in flight would otherwise take most of them from the suites running beside it.
    /// </summary>
    private static string QuickCompose() => "services:\n  web:\n    image: local/busybox:1\n    command: [\"sleep\", \"600\"]\n    init: true\n    network_mode: none\n";

    private static async Task<string> DeployAsync(HttpClient api, string project, string compose, string agentId)
    {
        using var response = await api.PostJsonAsync("/deploy", new { project_name = project, agent_id = agentId, compose_file_base64 = Base64(compose) });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
    }

    private static int TimesRun(ServiceProcess agent, string jobId) => agent.Lines.Count(l => l.Contains($"Job {jobId}: running "));

    private static async Task CleanUpAsync(IEnumerable<string> projects)
    {
        foreach (var project in projects) await FleetFixture.RemoveProjectContainersAsync(project);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task KillingTheControlPlaneWithDeploysInFlightLosesNoneAndRunsNoneTwice(int run)
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        await using var fleet = new ProcessFleet();
        var controlPlane = await fleet.StartControlPlaneAsync();
        var agent = fleet.StartAgent("crash-agent");
        using var api = fleet.CreateApiClient();
        await api.WaitForAgentOnlineAsync("crash-agent", TimeSpan.FromSeconds(60));

        var projects = Enumerable.Range(1, 24).Select(i => $"cp-crash-{run}-{i}").ToList();
        try
        {
            var jobs = new Dictionary<string, string>();
            foreach (var project in projects) jobs[project] = await DeployAsync(api, project, QuickCompose(), "crash-agent");
            controlPlane.Kill();
            await controlPlane.WaitForExitAsync();
            var inFlight = agent.Lines.Count(l => l.Contains(": running DEPLOY_COMPOSE")) - agent.Lines.Count(l => l.Contains("DEPLOY_COMPOSE finished"));

            await fleet.StartControlPlaneAsync();
            foreach (var (project, jobId) in jobs)
            {
                var job = await api.WaitForJobAsync(jobId, TimeSpan.FromMinutes(3));
                Assert.True(job.GetProperty("status").GetString() == "COMPLETED", $"{project}: {job.GetRawText()}");
            }
            foreach (var (project, jobId) in jobs)
            {
                Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
                Assert.True(TimesRun(agent, jobId) == 1, $"{jobId} ran {TimesRun(agent, jobId)} times (in flight at the kill: {inFlight})");
            }
            // Every result was acknowledged, so the agent holds none.
            var journal = Path.Combine(fleet.Root, "crash-agent", "state", "jobs");
            await Eventually.TrueAsync(() => Directory.GetFiles(journal, "*.result").Length == 0, TimeSpan.FromSeconds(20), "the agent to drop acknowledged results");
        }
        finally
        {
            await CleanUpAsync(projects);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task KillingTheAgentMidDeployEndsTheJobClearlyAndTheReportedStateMatchesDocker(int run)
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        await using var fleet = new ProcessFleet();
        var controlPlane = await fleet.StartControlPlaneAsync();
        var agent = fleet.StartAgent("dying-agent");
        using var api = fleet.CreateApiClient();
        await api.WaitForAgentOnlineAsync("dying-agent", TimeSpan.FromSeconds(60));
        var project = $"agent-crash-{run}";
        try
        {
            var jobId = await DeployAsync(api, project, SlowCompose(), "dying-agent");
            await Eventually.TrueAsync(async () => (await api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString() == "RUNNING",
                TimeSpan.FromSeconds(30), "the deploy to be running");
            await Task.Delay(1000 * run); // kill at different points of the deploy
            agent.Kill();
            await agent.WaitForExitAsync();

            var restarted = fleet.StartAgent("dying-agent");
            var job = await api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(60));
            Assert.Equal("FAILED", job.GetProperty("status").GetString());
            Assert.StartsWith("interrupted:", job.GetProperty("error").GetString());
            Assert.Equal(0, TimesRun(restarted, jobId)); // not run again

            // The control plane asks for STATUS; the placement then shows what the engine runs.
            JsonElement placement = default;
            try
            {
                await Eventually.TrueAsync(async () =>
                {
                    placement = (await api.GetJsonAsync($"/deployments/{project}")).GetProperty("placements")[0];
                    return placement.GetProperty("state").GetString() is "running" or "degraded" or "stopped";
                }, TimeSpan.FromSeconds(60), "the placement to be refreshed from STATUS");
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message}\nplacement: {placement}\njobs: {(await api.GetJsonAsync("/jobs")).GetRawText()}\ncontrol plane:\n{controlPlane.Output}\nagent:\n{restarted.Output}");
            }
            var all = await DockerCli.ContainersOfProjectAsync(project);
            var running = await DockerCli.ContainersOfProjectAsync(project, runningOnly: true);
            var expected = all.Length == 0 ? "stopped" : running.Length == all.Length ? "running" : "degraded";
            Assert.Equal(expected, placement.GetProperty("state").GetString());
        }
        finally
        {
            await CleanUpAsync([project]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task ResultsProducedWhileTheNetworkIsCutArriveAfterItIsBack(int run)
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        await using var fleet = new ProcessFleet();
        await fleet.StartControlPlaneAsync();
        await using var proxy = new TcpCutProxy(fleet.ControlPlanePort);
        var agent = fleet.StartAgent("cut-agent", new Uri($"ws://127.0.0.1:{proxy.Port}/ws"));
        using var api = fleet.CreateApiClient();
        await api.WaitForAgentOnlineAsync("cut-agent", TimeSpan.FromSeconds(60));
        var projects = new[] { $"net-cut-{run}-a", $"net-cut-{run}-b" };
        try
        {
            var jobs = new List<string>();
            foreach (var project in projects) jobs.Add(await DeployAsync(api, project, SlowCompose(), "cut-agent"));
            await Eventually.TrueAsync(() => jobs.All(j => TimesRun(agent, j) == 1), TimeSpan.FromSeconds(30), "both deploys to start");

            proxy.Cut();
            // The cut lasts until both deploys have finished, so their results are produced while the agent cannot
            // reach the control plane (the agent's own log says when).
            await Eventually.TrueAsync(() => jobs.All(j => agent.Lines.Any(l => l.Contains($"Job {j}: DEPLOY_COMPOSE finished"))),
                TimeSpan.FromSeconds(90), "both deploys to finish during the cut");
            await Task.Delay(TimeSpan.FromSeconds(1));
            proxy.Restore();

            foreach (var jobId in jobs)
            {
                var job = await api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(90));
                Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
                Assert.Contains("Deployment successful", job.GetProperty("logs").GetString());
                Assert.Equal(1, TimesRun(agent, jobId));
            }
            foreach (var project in projects)
                Assert.Equal(2, (await DockerCli.ContainersOfProjectAsync(project, runningOnly: true)).Length);
        }
        finally
        {
            await CleanUpAsync(projects);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task ADeployQueuedForAnOfflineAgentRunsWhenItConnectsAndAnExpiredOneDoesNot(int run)
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        await using var fleet = new ProcessFleet();
        await fleet.StartControlPlaneAsync();
        var agent = fleet.StartAgent("late-agent");
        using var api = fleet.CreateApiClient();
        await api.WaitForAgentOnlineAsync("late-agent", TimeSpan.FromSeconds(60));
        agent.Kill();
        await agent.WaitForExitAsync();
        await Eventually.TrueAsync(async () => !(await api.GetJsonAsync("/agents/late-agent")).GetProperty("online").GetBoolean(),
            TimeSpan.FromSeconds(30), "the agent to be offline");
        var project = $"queued-deploy-{run}";
        var expiring = $"expired-deploy-{run}";
        try
        {
            var jobId = await DeployAsync(api, project, QuickCompose(), "late-agent");
            Assert.Equal("PENDING", (await api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString());
            using var shortLived = await api.PostJsonAsync("/deploy", new { project_name = expiring, agent_id = "late-agent", compose_file_base64 = Base64(QuickCompose()), queue_ttl_seconds = 2 });
            var expiredId = (await shortLived.ReadJsonAsync()).GetProperty("job_id").GetString()!;
            Assert.Equal("EXPIRED", (await api.WaitForJobAsync(expiredId, TimeSpan.FromSeconds(30))).GetProperty("status").GetString());

            var back = fleet.StartAgent("late-agent");
            var job = await api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(90));
            Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
            Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
            Assert.Empty(await DockerCli.ContainersOfProjectAsync(expiring));
            Assert.Equal(0, TimesRun(back, expiredId));
        }
        finally
        {
            await CleanUpAsync([project, expiring]);
        }
    }
}
