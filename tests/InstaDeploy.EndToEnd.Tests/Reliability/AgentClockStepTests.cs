namespace InstaDeploy.EndToEnd.Tests.Reliability;

/// <summary>
/// Steps of the agent's wall clock (NTP, a resumed VM), injected into the real agent process with libfaketime
/// (<see cref="AgentClock"/>): the health gate measures its wait on the monotonic clock, and the project history that
/// picks an automatic rollback's revision is ordered by sequence, not by the wall clock.
/// </summary>
public sealed class AgentClockStepTests(ProcessFleetFixture fixture) : IClassFixture<ProcessFleetFixture>
{
    private HttpClient Api => fixture.Api;

    private static AgentClock Clock(ProcessFleetFixture fixture, string agentId) =>
        AgentClock.TryCreate(Path.Combine(fixture.Fleet.Root, agentId, "clock"))
        ?? throw new InvalidOperationException($"These tests step the agent's clock with libfaketime, which is not installed ({AgentClock.Library}). Run bash eng/setup-faketime.sh (eng/test.sh does).");

    [Fact]
    public async Task AClockStepForwardDuringTheHealthWaitNeitherFailsNorShortensIt()
    {
        const string agentId = "clock-health-agent";
        var project = E2E.Project("clock-health");
        var clock = Clock(fixture, agentId);
        var agent = fixture.Fleet.StartAgent(agentId, settings: clock.Environment);
        try
        {
            await Api.WaitForAgentOnlineAsync(agentId, TimeSpan.FromSeconds(60));
            // The containers come up at once; the healthcheck passes after 8 s, well within the 60 s wait.
            var compose = """
                services:
                  web:
                    image: local/busybox:1
                    command: ["sh", "-c", "sleep 8 && touch /tmp/ready && sleep 86400"]
                    init: true
                    healthcheck:
                      test: ["CMD", "test", "-f", "/tmp/ready"]
                      interval: 1s
                      retries: 120
                """;
            var jobId = await Api.DeployAsync(project, agentId, compose, new { health_wait_seconds = 60 });
            await Eventually.TrueAsync(async () => (await Api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("logs").GetString()!.Contains("Waiting up to 60 s", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "the deploy to wait on the health of its containers");
            clock.Step(TimeSpan.FromHours(2));

            var job = await Api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(90));
            Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
            Assert.DoesNotContain("not ready after", job.GetProperty("logs").GetString());
            Assert.Equal(1, agent.TimesRun(jobId));
        }
        finally
        {
            agent.Kill();
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task AfterTheClockWasSteppedBackAnAutomaticRollbackStillGoesToTheLastSuccessfulRevision()
    {
        const string agentId = "clock-history-agent";
        var project = E2E.Project("clock-history");
        var clock = Clock(fixture, agentId);
        var agent = fixture.Fleet.StartAgent(agentId, settings: clock.Environment);
        try
        {
            await Api.WaitForAgentOnlineAsync(agentId, TimeSpan.FromSeconds(60));
            var first = await Api.DeployAsync(project, agentId, ReliabilityApi.QuickCompose("echo one && sleep 86400"));
            Assert.Equal("COMPLETED", (await Api.WaitForJobAsync(first, TimeSpan.FromSeconds(90))).GetProperty("status").GetString());

            // Revision 2 is deployed with the clock three hours behind: by its wall-clock time it is older than revision 1.
            clock.Step(TimeSpan.FromHours(-3));
            await Task.Delay(TimeSpan.FromSeconds(2)); // libfaketime reads the offset again within a second
            var second = await Api.DeployAsync(project, agentId, ReliabilityApi.QuickCompose("echo two && sleep 86400"));
            Assert.Equal("COMPLETED", (await Api.WaitForJobAsync(second, TimeSpan.FromSeconds(90))).GetProperty("status").GetString());

            var broken = await Api.DeployAsync(project, agentId, ReliabilityApi.QuickCompose("exit 3"), new { rollback_on_failure = true, health_wait_seconds = 20 });
            var job = await Api.WaitForJobAsync(broken, TimeSpan.FromSeconds(120));
            Assert.Equal("FAILED", job.GetProperty("status").GetString());
            Assert.Contains("rolled back to revision 2", job.GetProperty("error").GetString());
            Assert.Equal(["2"], await ReliabilityApi.RevisionLabelsAsync(project));
            var (_, logs) = await DockerCli.RunAsync(["logs", .. await DockerCli.ContainersOfProjectAsync(project)]);
            Assert.Contains("two", logs);
            var placement = await Api.PlacementAsync(project, agentId);
            Assert.Equal(2, placement.GetProperty("current_revision").GetInt32());
        }
        finally
        {
            agent.Kill();
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }
}
