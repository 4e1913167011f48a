namespace InstaDeploy.EndToEnd.Tests.Reliability;

/// <summary>A control plane that is down while its agent works: the time it is away does not count against a job.</summary>
public sealed class ControlPlaneOutageTests
{
    [Fact]
    public async Task AControlPlaneDownPastAJobsDeadlineWhileTheAgentFinishesItRecordsTheJobCompletedNotTimedOut()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        const string agentId = "outage-agent";
        var project = E2E.Project("cp-outage");
        await using var fleet = new ProcessFleet();
        var controlPlane = await fleet.StartControlPlaneAsync();
        var agent = fleet.StartAgent(agentId);
        using var api = fleet.CreateApiClient();
        try
        {
            await api.WaitForAgentOnlineAsync(agentId, TimeSpan.FromSeconds(60));
            // Generous: the agent cancels the job at its deadline too, and on a loaded machine this deploy can take a while.
            const int timeoutSeconds = 90;
            var jobId = await api.DeployAsync(project, agentId, TestComposeFiles.Slow(readyAfterSeconds: 4), new { timeout_seconds = timeoutSeconds, health_wait_seconds = 60 });
            await api.WaitForJobStatusAsync(jobId, "RUNNING", TimeSpan.FromSeconds(30));
            var sentAt = (await api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("created_at").GetDateTimeOffset();
            controlPlane.Kill();
            await controlPlane.WaitForExitAsync();

            // The agent finishes the deploy while nobody listens, and the job's deadline passes with the control plane down.
            await Eventually.TrueAsync(() => agent.Lines.Any(l => l.Contains($"Job {jobId}: DEPLOY_COMPOSE finished", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(timeoutSeconds), "the agent to finish the deploy");
            var pastDeadline = sentAt + TimeSpan.FromSeconds(timeoutSeconds + 5) - DateTimeOffset.UtcNow;
            if (pastDeadline > TimeSpan.Zero) await Task.Delay(pastDeadline);

            await fleet.StartControlPlaneAsync();
            var job = await api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(90));
            Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
            Assert.False(job.GetProperty("arrived_late").GetBoolean()); // the time away was given back: it was never overdue
            Assert.Contains("Deployment successful (revision 1)", job.GetProperty("logs").GetString());
            var placement = await api.PlacementAsync(project, agentId);
            Assert.Equal("running", placement.GetProperty("state").GetString());
            Assert.Equal(1, placement.GetProperty("current_revision").GetInt32());
            Assert.Equal(["1", "1"], await ReliabilityApi.RevisionLabelsAsync(project));
            Assert.Equal(1, agent.TimesRun(jobId));
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }
}
