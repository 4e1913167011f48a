namespace InstaDeploy.Cli.Tests.Rollouts;

/// <summary>`agents labels`, `agents ls --selector`, and `stop`/`status` by selector, against the real control plane and
/// the real agents (their labels from AGENT_LABELS, their containers on the real Docker engine).</summary>
[Collection(RolloutCollection.Name)]
public sealed class LabelAndSelectorTests(RolloutFleetFixture fleet)
{
    private static string[] Lines(CliResult result) => result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task LabelsAreShownWithTheirSourceOverriddenRemovedResetAndClearedAndSelectorsSeeThem()
    {
        using var user = await fleet.LoggedInUserAsync();
        try
        {
            var announced = await user.RunAsync("agents", "labels", "web-1");
            Assert.True(announced.ExitCode == 0, announced.ToString());
            Assert.Matches(@"KEY\s+VALUE\s+SOURCE", announced.Stdout);
            Assert.Matches(@"role\s+web\s+agent", announced.Stdout);
            Assert.Matches(@"zone\s+a\s+agent", announced.Stdout);

            var set = await user.RunAsync("agents", "labels", "web-1", "tier=canary", "zone=c");
            Assert.True(set.ExitCode == 0, set.ToString());
            Assert.Matches(@"tier\s+canary\s+override", set.Stdout);
            Assert.Matches(@"zone\s+c\s+override \(agent: a\)", set.Stdout);

            // --rm of a label the agent announces is a null override; the JSON is the agent as the API answers it.
            var removed = await user.RunAsync("agents", "labels", "web-1", "--rm", "role", "-o", "json");
            Assert.True(removed.ExitCode == 0, removed.ToString());
            var agent = CliFixture.Json(removed.Stdout);
            Assert.Equal(CliFixture.Shape(await fleet.Api.GetJsonAsync("/agents/web-1")), CliFixture.Shape(agent));
            Assert.False(agent.GetProperty("labels").TryGetProperty("role", out _));
            Assert.Equal(System.Text.Json.JsonValueKind.Null, agent.GetProperty("label_overrides").GetProperty("role").ValueKind);
            Assert.Equal("canary", agent.GetProperty("label_overrides").GetProperty("tier").GetString());
            Assert.Equal("web", agent.GetProperty("announced_labels").GetProperty("role").GetString());
            Assert.Matches(@"role\s+removed by override \(agent: web\)", (await user.RunAsync("agents", "labels", "web-1")).Stdout);
            Assert.Equal(["tier=canary", "zone=c"], Lines(await user.RunAsync("agents", "labels", "web-1", "-q")));

            Assert.Equal(["web-1"], Lines(await user.RunAsync("agents", "ls", "--selector", "tier=canary", "-q")));
            Assert.Equal(["web-2"], Lines(await user.RunAsync("agents", "ls", "--selector", "role=web", "-q")));
            Assert.Equal(["web-1", "web-2"], Lines(await user.RunAsync("agents", "ls", "-l", "zone in (b,c)", "-q")));
            Assert.Equal(["sim-0", "sim-1", "sim-2", "sim-3", "sim-4", "sim-5", "web-2"], Lines(await user.RunAsync("agents", "ls", "--selector", "!tier,zone!=c", "-q")));
            var none = await user.RunAsync("agents", "ls", "--selector", "tier=none");
            Assert.True(none.ExitCode == 0, none.ToString());
            Assert.Equal("", none.Stdout);
            Assert.Contains("No agent's labels match 'tier=none'", none.Stderr);
            var listed = CliFixture.Json((await user.RunAsync("agents", "ls", "--selector", "tier=canary", "-o", "json")).Stdout);
            var api = await fleet.Api.GetJsonAsync("/agents?selector=tier%3Dcanary");
            Assert.Equal((1, "web-1"), (listed.GetArrayLength(), listed[0].GetProperty("id").GetString()));
            Assert.Equal(CliFixture.Shape(api[0]), CliFixture.Shape(listed[0]));
            Assert.Matches(@"web-1\s+online\s+\S+\s+\S+\s+\S+ \S+\s+tier=canary, zone=c", (await user.RunAsync("agents", "ls", "-l", "tier=canary")).Stdout);

            var malformed = await user.RunAsync("agents", "ls", "--selector", "zone in (a");
            Assert.Equal(2, malformed.ExitCode);
            Assert.Contains("selector: at position", malformed.Stderr);

            var reset = await user.RunAsync("agents", "labels", "web-1", "--reset", "zone");
            Assert.Matches(@"zone\s+a\s+agent", reset.Stdout);
            var cleared = CliFixture.Json((await user.RunAsync("agents", "labels", "web-1", "--clear", "-o", "json")).Stdout);
            Assert.Equal(System.Text.Json.JsonValueKind.Null, cleared.GetProperty("label_overrides").ValueKind);
            Assert.Equal(cleared.GetProperty("announced_labels").GetRawText(), cleared.GetProperty("labels").GetRawText());

            Assert.Equal(2, (await user.RunAsync("agents", "labels", "web-1", "novalue")).ExitCode);
            Assert.Equal(2, (await user.RunAsync("agents", "labels", "web-1", "a=1", "--rm", "a")).ExitCode);
            var badKey = await user.RunAsync("agents", "labels", "web-1", "-bad-=x");
            Assert.Equal(2, badKey.ExitCode);
            Assert.Contains("labels", badKey.Stderr);
            Assert.Equal(4, (await user.RunAsync("agents", "labels", "no-such-agent")).ExitCode);

            using (var reader = new CliUser())
            {
                var key = await fleet.Api.PostJsonAsync("/api-keys", new { name = "cli-labels-read", scopes = new[] { "read" } });
                await reader.LogInAsync("reader", fleet.Url, (await key.ReadJsonAsync()).GetProperty("key").GetString()!);
                Assert.Equal(0, (await reader.RunAsync("agents", "labels", "web-1")).ExitCode);
                var forbidden = await reader.RunAsync("agents", "labels", "web-1", "tier=x");
                Assert.Equal(3, forbidden.ExitCode);
                Assert.Contains("lacks the 'admin' scope", forbidden.Stderr);
            }
        }
        finally
        {
            using var _ = await fleet.Api.DeleteAsync("/agents/web-1/labels");
        }
    }

    [Fact]
    public async Task StopAndStatusBySelectorReachEverySelectedAgentTheProjectIsOn()
    {
        var project = fleet.Project("cli-sel");
        using var user = await fleet.LoggedInUserAsync();
        var compose = Path.Combine(Directory.CreateTempSubdirectory("instadeploy-cli-sel-").FullName, "docker-compose.yml");
        await File.WriteAllTextAsync(compose, RolloutFleetFixture.Compose("1"));
        var deployed = await user.RunAsync("deploy", "-f", compose, "-p", project, "--selector", "role=web", "--max-parallel", "2", "--wait", "-q");
        Assert.True(deployed.ExitCode == 0, deployed.ToString());

        var status = await user.RunAsync("status", project, "--selector", "role=web");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Matches(@"AGENT\s+CONTAINER\s+SERVICE\s+STATE\s+HEALTH\s+PORTS", status.Stdout);
        foreach (var agent in RolloutFleetFixture.WebAgents) Assert.Matches($@"{agent}\s+\S+\s+web\s+running", status.Stdout);
        var json = CliFixture.Json((await user.RunAsync("status", project, "--selector", "role=web", "-o", "json")).Stdout);
        Assert.Equal(["jobs", "refused"], CliFixture.Shape(json));
        Assert.Equal(0, json.GetProperty("refused").GetArrayLength());
        var job = json.GetProperty("jobs")[0];
        Assert.Equal(CliFixture.Shape(await fleet.Api.GetJsonAsync($"/jobs/{job.GetProperty("job_id").GetString()}")), CliFixture.Shape(job));
        Assert.Equal("running", job.GetProperty("result").GetProperty("containers")[0].GetProperty("state").GetString());

        var stopped = await user.RunAsync("stop", project, "--selector", "zone=a", "--wait");
        Assert.True(stopped.ExitCode == 0, stopped.ToString());
        Assert.Matches(@"web-1: job job-\S+ COMPLETED", stopped.Stderr);
        Assert.Empty(await DockerCli.ContainersOfProjectAsync(RolloutFleetFixture.ComposeProject(project, "web-1"), runningOnly: true));
        Assert.Single(await DockerCli.ContainersOfProjectAsync(RolloutFleetFixture.ComposeProject(project, "web-2"), runningOnly: true));

        // Without --wait: the server's answer, {jobs, refused}, at once.
        var sent = await user.RunAsync("stop", project, "--selector", "role=web", "-o", "json");
        Assert.True(sent.ExitCode == 0, sent.ToString());
        var answer = CliFixture.Json(sent.Stdout);
        Assert.Equal(["jobs", "refused"], CliFixture.Shape(answer));
        Assert.Equal(["agent_id", "job_id", "status"], CliFixture.Shape(answer.GetProperty("jobs")[0]));
        foreach (var accepted in answer.GetProperty("jobs").EnumerateArray())
            Assert.Equal("COMPLETED", (await fleet.Api.WaitForJobAsync(accepted.GetProperty("job_id").GetString()!)).GetProperty("status").GetString());
        Assert.Empty(await DockerCli.ContainersOfProjectAsync(RolloutFleetFixture.ComposeProject(project, "web-2"), runningOnly: true));

        var nobody = await user.RunAsync("status", project, "--selector", "zone=z");
        Assert.Equal(2, nobody.ExitCode);
        Assert.Contains("No agent selected (400)", nobody.Stderr);
        Assert.Equal(2, (await user.RunAsync("stop", project, "--selector", "zone=a", "--agent", "web-1")).ExitCode);
        Assert.Equal(2, (await user.RunAsync("status", "--selector", "zone=a")).ExitCode);
    }
}
