using System.Diagnostics;

namespace InstaDeploy.EndToEnd.Tests.Reliability;

/// <summary>
/// The agent's side of issue 22 on real processes and the real engine, one control plane shared by the class (each test
/// has its own agent id and projects): a crash after <c>up</c> succeeded, a graceful stop during a deploy, a second
/// process with the same id and key, and a full state folder.
/// </summary>
public sealed class AgentFaultTests(ProcessFleetFixture fixture) : IClassFixture<ProcessFleetFixture>
{
    private HttpClient Api => fixture.Api;

    /// <summary>A deploy whose containers are up at once but whose health wait holds it for minutes: the healthcheck stays
    /// "starting" (its start period), so the agent is still waiting when it is killed.</summary>
    private static string NeverHealthyCompose() => """
        services:
          web:
            image: local/busybox:1
            command: ["sleep", "86400"]
            init: true
            healthcheck:
              test: ["CMD", "false"]
              interval: 2s
              start_period: 10m
            network_mode: none
        """;

    /// <summary>One container, up at once, healthy after <paramref name="seconds"/>.</summary>
    private static string ReadyAfterCompose(int seconds) => $$"""
        services:
          web:
            image: local/busybox:1
            command: ["sh", "-c", "sleep {{seconds}} && touch /tmp/ready && sleep 86400"]
            init: true
            healthcheck:
              test: ["CMD", "test", "-f", "/tmp/ready"]
              interval: 1s
              retries: 300
            network_mode: none
        """;

    [Fact]
    public async Task AnAgentKilledAfterUpSucceededLeavesTheJobInterruptedAndThePlacementAtTheRevisionTheEngineRuns()
    {
        const string agentId = "up-crash-agent";
        var project = E2E.Project("up-crash");
        var agent = fixture.Fleet.StartAgent(agentId);
        try
        {
            await Api.WaitForAgentOnlineAsync(agentId, TimeSpan.FromSeconds(60));
            var first = await Api.DeployAsync(project, agentId, ReliabilityApi.QuickCompose());
            Assert.Equal("COMPLETED", (await Api.WaitForJobAsync(first, TimeSpan.FromSeconds(90))).GetProperty("status").GetString());
            Assert.Equal(1, (await Api.PlacementAsync(project, agentId)).GetProperty("current_revision").GetInt32());

            var second = await Api.DeployAsync(project, agentId, NeverHealthyCompose(), new { health_wait_seconds = 300, timeout_seconds = 600 });
            // compose up has replaced the container with revision 2's, and the agent waits on its health.
            await Eventually.TrueAsync(async () => await ReliabilityApi.RevisionLabelsAsync(project) is ["2"]
                && (await DockerCli.ContainersOfProjectAsync(project, runningOnly: true)).Length == 1
                && (await Api.GetJsonAsync($"/jobs/{second}")).GetProperty("logs").GetString()!.Contains("Waiting up to 300 s", StringComparison.Ordinal),
                TimeSpan.FromSeconds(90), "revision 2's container to run while the deploy waits on its health");
            Assert.Equal("RUNNING", await Api.StatusOfJobAsync(second));
            agent.Kill();
            await agent.WaitForExitAsync();

            agent = fixture.Fleet.StartAgent(agentId);
            var job = await Api.WaitForJobAsync(second, TimeSpan.FromSeconds(90));
            Assert.Equal("FAILED", job.GetProperty("status").GetString());
            Assert.StartsWith("interrupted:", job.GetProperty("error").GetString());
            Assert.Equal(0, agent.TimesRun(second));

            // The reconciler's STATUS reads the revision label: the placement is at what the engine runs, and says why.
            System.Text.Json.JsonElement placement = default;
            await Eventually.TrueAsync(async () =>
            {
                placement = await Api.PlacementAsync(project, agentId);
                return placement.TryGetProperty("observed", out var observed) && observed.ValueKind == System.Text.Json.JsonValueKind.String
                    && observed.GetString()!.Contains("interrupted", StringComparison.Ordinal);
            }, TimeSpan.FromSeconds(60), "the placement to be compared with the engine after the interruption");
            Assert.Equal(2, placement.GetProperty("current_revision").GetInt32());
            Assert.Equal("running", placement.GetProperty("state").GetString());
            Assert.Contains("current revision 1 -> 2", placement.GetProperty("observed").GetString());
            Assert.Equal(["2"], await ReliabilityApi.RevisionLabelsAsync(project));
            Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
        }
        finally
        {
            agent.Kill();
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task ASigtermDuringADeployLetsItCompleteOnThatConnectionAndADeployMadeMeanwhileRunsAfterTheRestart()
    {
        const string agentId = "drain-agent";
        var running = E2E.Project("drain-running");
        var waiting = E2E.Project("drain-waiting");
        var agent = fixture.Fleet.StartAgent(agentId);
        try
        {
            await Api.WaitForAgentOnlineAsync(agentId, TimeSpan.FromSeconds(60));
            // The stop comes while the deploy waits on its health (its containers up, about 8 s left), so what is left fits
            // well in the agent's 25 s drain even on a loaded machine, where compose up alone can take that long.
            var first = await Api.DeployAsync(running, agentId, ReadyAfterCompose(seconds: 8), new { health_wait_seconds = 120 });
            await Eventually.TrueAsync(async () => (await Api.GetJsonAsync($"/jobs/{first}")).GetProperty("logs").GetString()!.Contains("Waiting up to", StringComparison.Ordinal),
                TimeSpan.FromSeconds(90), "the deploy to wait on the health of its container");

            agent.Terminate();
            await Eventually.TrueAsync(() => fixture.ControlPlane.Lines.Any(l => l.Contains($"Agent {agentId} is stopping", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(20), "the control plane to hear that the agent stops");
            var second = await Api.DeployAsync(waiting, agentId, ReliabilityApi.QuickCompose());

            // The running deploy finishes and its result goes out before the agent closes: COMPLETED with the agent gone,
            // not after its next start.
            Assert.True(await agent.WaitForExitAsync(TimeSpan.FromSeconds(45)), "the agent did not exit within 45 s of SIGTERM");
            await Eventually.TrueAsync(async () => await Api.StatusOfJobAsync(first) != "RUNNING", TimeSpan.FromSeconds(10), "the drained deploy's result");
            var drained = await Api.GetJsonAsync($"/jobs/{first}");
            Assert.True(drained.GetProperty("status").GetString() == "COMPLETED", drained.GetRawText());
            Assert.Single(await DockerCli.ContainersOfProjectAsync(running, runningOnly: true));
            // The deploy made during the drain was not handed to the stopping agent: it waits.
            Assert.Equal("PENDING", await Api.StatusOfJobAsync(second));
            Assert.Equal(0, agent.TimesRun(second));

            agent = fixture.Fleet.StartAgent(agentId);
            var after = await Api.WaitForJobAsync(second, TimeSpan.FromSeconds(90));
            Assert.True(after.GetProperty("status").GetString() == "COMPLETED", after.GetRawText());
            Assert.Equal(1, agent.TimesRun(second));
            Assert.Single(await DockerCli.ContainersOfProjectAsync(waiting, runningOnly: true));
            Assert.Equal("COMPLETED", await Api.StatusOfJobAsync(first));
        }
        finally
        {
            agent.Kill();
            await FleetFixture.RemoveProjectContainersAsync(running);
            await FleetFixture.RemoveProjectContainersAsync(waiting);
        }
    }

    [Fact]
    public async Task ASecondAgentProcessWithTheSameIdAndKeyIsRefusedWith409AndTheFirstKeepsItsJobs()
    {
        const string agentId = "twin-agent";
        var project = E2E.Project("twin");
        var first = fixture.Fleet.StartAgent(agentId);
        ServiceProcess? second = null;
        try
        {
            await Api.WaitForAgentOnlineAsync(agentId, TimeSpan.FromSeconds(60));
            var keyFile = Path.Combine(fixture.Fleet.Root, agentId, "state", "agent.key");
            await Eventually.TrueAsync(() => File.Exists(keyFile), TimeSpan.FromSeconds(30), "the agent to keep the key it was issued");
            var deploy = await Api.DeployAsync(project, agentId, TestComposeFiles.Slow(readyAfterSeconds: 6));
            await Api.WaitForJobStatusAsync(deploy, "RUNNING", TimeSpan.FromSeconds(60));

            // A copy of the machine: the same AGENT_HOSTNAME and key, its own folders.
            var copy = Path.Combine(fixture.Fleet.Root, "twin-copy");
            second = fixture.Fleet.StartAgent(agentId, settings: new Dictionary<string, string>
            {
                ["AGENT_KEY_FILE"] = keyFile,
                ["AGENT_STATE_DIR"] = Path.Combine(copy, "state"),
                ["AGENT_PROJECTS_DIR"] = Path.Combine(copy, "projects"),
            });
            await Eventually.TrueAsync(() => second.Lines.Any(l => l.Contains("refused this agent (HTTP 409)", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(60), "the second process to be refused with 409");
            Assert.Contains(second.Lines, l => l.Contains($"agent id {agentId} is connected now from another agent process", StringComparison.Ordinal));

            var job = await Api.WaitForJobAsync(deploy, TimeSpan.FromSeconds(90));
            Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
            var next = await Api.DeployAsync(project, agentId, ReliabilityApi.QuickCompose());
            Assert.Equal("COMPLETED", (await Api.WaitForJobAsync(next, TimeSpan.FromSeconds(90))).GetProperty("status").GetString());
            Assert.Equal(1, first.TimesRun(deploy));
            Assert.Equal(1, first.TimesRun(next));
            Assert.DoesNotContain(second.Lines, l => l.Contains(": running ", StringComparison.Ordinal));
            Assert.DoesNotContain(first.Lines, l => l.Contains("Disconnected from", StringComparison.Ordinal)); // never pushed off
            Assert.Contains(fixture.ControlPlane.Lines, l => l.Contains($"agent id {agentId} is connected now from another agent process", StringComparison.Ordinal));
        }
        finally
        {
            first.Kill();
            second?.Kill();
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task AnAgentWhoseStateFolderIsFullStartsRefusesJobsItCannotRecordAndRunsThemAgainOnceThereIsSpace()
    {
        const string agentId = "full-disk-agent";
        var project = E2E.Project("full-disk");
        var state = Path.Combine(fixture.Fleet.Root, agentId, "tmpfs-state");
        Directory.CreateDirectory(state);
        // Small in bytes and in files: a full disk refuses an empty file too once its inodes are gone.
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=256k,nr_inodes=64,mode=0700", "tmpfs", state);
        var settings = new Dictionary<string, string> { ["AGENT_STATE_DIR"] = state };
        var agent = fixture.Fleet.StartAgent(agentId, settings: settings);
        try
        {
            await Api.WaitForAgentOnlineAsync(agentId, TimeSpan.FromSeconds(60));
            await Eventually.TrueAsync(() => File.Exists(Path.Combine(state, "agent.key")), TimeSpan.FromSeconds(30), "the agent to keep its key");
            agent.Kill();
            await agent.WaitForExitAsync();
            var fillers = Fill(state);

            agent = fixture.Fleet.StartAgent(agentId, settings: settings);
            await Api.WaitForAgentOnlineAsync(agentId, TimeSpan.FromSeconds(60));
            var refused = await Api.DeployAsync(project, agentId, ReliabilityApi.QuickCompose());
            var job = await Api.WaitForJobAsync(refused, TimeSpan.FromSeconds(60));
            Assert.Equal("FAILED", job.GetProperty("status").GetString());
            Assert.Contains("cannot record the job in its journal", job.GetProperty("error").GetString());
            Assert.Contains("it did not run", job.GetProperty("error").GetString());
            Assert.Equal(0, agent.TimesRun(refused));
            Assert.Empty(await DockerCli.ContainersOfProjectAsync(project));
            Assert.Contains(agent.Lines, l => l.Contains("The job journal (AGENT_STATE_DIR) cannot be written", StringComparison.Ordinal));

            foreach (var filler in fillers) File.Delete(filler);
            var again = await Api.DeployAsync(project, agentId, ReliabilityApi.QuickCompose());
            var ran = await Api.WaitForJobAsync(again, TimeSpan.FromSeconds(90));
            Assert.True(ran.GetProperty("status").GetString() == "COMPLETED", ran.GetRawText());
            Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
        }
        finally
        {
            agent.Kill();
            await agent.WaitForExitAsync();
            await RunAsync("umount", "-l", state);
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    /// <summary>Fills <paramref name="folder"/>: one file takes the bytes, empty ones the inodes. Returns what to delete.</summary>
    private static List<string> Fill(string folder)
    {
        var made = new List<string>();
        var big = Path.Combine(folder, "filler");
        made.Add(big);
        try
        {
            using var stream = File.Create(big);
            var block = new byte[4096];
            while (true) stream.Write(block);
        }
        catch (IOException)
        {
        }
        for (var i = 0; ; i++)
        {
            var name = Path.Combine(folder, $"filler-{i}");
            try
            {
                File.WriteAllBytes(name, []);
                made.Add(name);
            }
            catch (IOException)
            {
                break;
            }
        }
        return made;
    }

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}. This test mounts a small tmpfs: it runs as root, as CI does.");
    }
}
