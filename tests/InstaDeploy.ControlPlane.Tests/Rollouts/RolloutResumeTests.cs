namespace InstaDeploy.ControlPlane.Tests.Rollouts;

/// <summary>A control plane killed with SIGKILL mid-rollout resumes it from its database: no target deployed twice,
/// none skipped.</summary>
public sealed class RolloutResumeTests
{
    [Fact]
    public async Task AKill9MidRolloutResumesItWithNoTargetDeployedTwice()
    {
        await using var processes = new ProcessFleet();
        var controlPlane = await processes.StartControlPlaneAsync();
        using var api = processes.CreateApiClient();
        await using var fleet = new SimulatedFleet(new Uri($"ws://127.0.0.1:{processes.ControlPlanePort}/ws"), ProcessFleet.Token) { DeployTime = TimeSpan.FromMilliseconds(400) };
        const int agents = 200;
        for (var i = 0; i < agents; i++) fleet.Start($"r-{i:D3}", "role=web");
        await fleet.WaitConnectedAsync(agents, TimeSpan.FromSeconds(60));
        await Eventually.TrueAsync(async () => (await api.GetJsonAsync("/agents?selector=role=web")).GetArrayLength() == agents, TimeSpan.FromSeconds(30), "the agents to be stored");

        using var response = await api.PostJsonAsync("/rollouts", new
        {
            project_name = "resume", compose_file_base64 = SimulatedFleetFixture.Compose("v1"),
            targets = new { selector = "role=web" }, strategy = new { max_parallel = 20 },
        });
        var id = (await response.ReadJsonAsync()).GetProperty("rollout_id").GetString()!;
        await Eventually.TrueAsync(async () => SimulatedFleetFixture.Count(await api.GetJsonAsync($"/rollouts/{id}"), "succeeded") >= 60,
            TimeSpan.FromSeconds(60), "a third of the rollout to be done");

        controlPlane.Kill();
        await controlPlane.WaitForExitAsync();
        await processes.StartControlPlaneAsync();
        await fleet.WaitConnectedAsync(agents, TimeSpan.FromSeconds(60));

        JsonElementHolder last = new();
        await Eventually.TrueAsync(async () => SimulatedFleetFixture.State(last.Value = await api.GetJsonAsync($"/rollouts/{id}")) == "succeeded",
            TimeSpan.FromSeconds(120), "the rollout to succeed after the restart");
        Assert.Equal(agents, SimulatedFleetFixture.Count(last.Value, "succeeded"));
        foreach (var agent in fleet.AgentIds)
        {
            var deploys = fleet.Received[agent].Where(c => c.Type == "DEPLOY_COMPOSE").Select(c => c.JobId).Distinct().ToList();
            Assert.True(deploys.Count == 1, $"{agent} got {deploys.Count} deploy jobs");
        }
        var jobs = last.Value.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("job_id").GetString()).ToList();
        Assert.Equal(agents, jobs.Distinct().Count());
    }

    private sealed class JsonElementHolder
    {
        public System.Text.Json.JsonElement Value { get; set; }
    }
}
