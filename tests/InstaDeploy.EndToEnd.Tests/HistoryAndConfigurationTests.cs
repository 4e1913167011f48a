using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests;

/// <summary>
/// Revisions, health gating, rollback (automatic and asked for), container logs and per-project variables with secrets,
/// on the real Docker engine with the real agent and its built-in plugins.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HistoryAndConfigurationTests(FleetFixture fleet) : IClassFixture<FleetFixture>
{
    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>A service that runs, labelled with its version.</summary>
    private static string Good(string version) => $$"""
        services:
          web:
            image: local/busybox:1
            command: ["sleep", "600"]
            init: true
            labels:
              version: "{{version}}"
        """;

    /// <summary>Starts fine as far as compose is concerned, then exits with an error a moment later.</summary>
    private static string Crashing(string version) => $$"""
        services:
          web:
            image: local/busybox:1
            command: ["sh", "-c", "echo starting {{version}}; sleep 0.3; echo cannot reach the database; exit 3"]
            init: true
            labels:
              version: "{{version}}"
        """;

    /// <summary>Runs, but its healthcheck never passes.</summary>
    private static string Unhealthy(string version) => $$"""
        services:
          web:
            image: local/busybox:1
            command: ["sleep", "600"]
            init: true
            labels:
              version: "{{version}}"
            healthcheck:
              test: ["CMD", "false"]
              interval: 1s
              retries: 2
        """;

    private async Task<JsonElement> SendAsync(string path, object body)
    {
        using var response = await fleet.Api.PostJsonAsync(path, body);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await fleet.Api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(2));
    }

    private Task<JsonElement> DeployAsync(string project, string compose, bool rollbackOnFailure = false, int? healthWaitSeconds = null) =>
        SendAsync("/deploy", new Dictionary<string, object?>
        {
            ["project_name"] = project,
            ["compose_file_base64"] = Base64(compose),
            ["rollback_on_failure"] = rollbackOnFailure,
            ["health_wait_seconds"] = healthWaitSeconds,
        });

    private static async Task<string[]> RunningVersionsAsync(string project)
    {
        var versions = new List<string>();
        foreach (var container in await DockerCli.ContainersOfProjectAsync(project, runningOnly: true))
            versions.Add((await DockerCli.RunAsync("inspect", "-f", "{{index .Config.Labels \"version\"}}", container)).Output.Trim());
        return [.. versions];
    }

    private async Task<List<JsonElement>> RevisionsAsync(string project) =>
        [.. (await fleet.Api.GetJsonAsync($"/deployments/{project}/revisions")).EnumerateArray()];

    [Fact]
    public async Task ABrokenDeployWithRollbackOnFailureBringsTheLastGoodRevisionBackAndSaysSo()
    {
        var project = E2E.Project("autorollback");
        try
        {
            var v1 = await DeployAsync(project, Good("v1"));
            Assert.True(v1.GetProperty("status").GetString() == "COMPLETED", v1.GetRawText());
            Assert.Contains("Waiting up to 60 s for the containers", v1.GetProperty("logs").GetString());
            Assert.Equal(["v1"], await RunningVersionsAsync(project));

            var v2 = await DeployAsync(project, Crashing("v2"), rollbackOnFailure: true, healthWaitSeconds: 30);
            Assert.True(v2.GetProperty("status").GetString() == "FAILED", v2.GetRawText());
            var logs = v2.GetProperty("logs").GetString()!;
            Assert.Contains($"Deploy of revision 2 failed: container {project}_web_1 exited with code 3", logs);
            Assert.Contains("rollback_on_failure: rolling back to revision 1", logs);
            Assert.Contains("Rolled back to revision 1: it is running again", logs);
            Assert.Contains("rolled back to revision 1, which is running again", v2.GetProperty("error").GetString());
            Assert.Equal(["v1"], await RunningVersionsAsync(project));

            var revisions = await RevisionsAsync(project);
            Assert.Equal([(2, "rolled_back", false), (1, "succeeded", true)],
                revisions.Select(r => (r.GetProperty("revision").GetInt32(), r.GetProperty("outcome").GetString(), r.GetProperty("current").GetBoolean())));
            Assert.Equal(1, revisions[0].GetProperty("rolled_back_to").GetInt32());
            var placement = (await fleet.Api.GetJsonAsync($"/deployments/{project}")).GetProperty("placements")[0];
            Assert.Equal(("running", 1), (placement.GetProperty("state").GetString(), placement.GetProperty("current_revision").GetInt32()));

            // An unhealthy container fails the deploy too; without rollback_on_failure it is left as it is.
            var v3 = await DeployAsync(project, Unhealthy("v3"), healthWaitSeconds: 30);
            Assert.Equal("FAILED", v3.GetProperty("status").GetString());
            Assert.Contains($"container {project}_web_1 is unhealthy", v3.GetProperty("error").GetString());
            Assert.DoesNotContain("rolling back", v3.GetProperty("logs").GetString());
            Assert.Equal(["v3"], await RunningVersionsAsync(project));
            Assert.Equal("failed", (await fleet.Api.GetJsonAsync($"/deployments/{project}")).GetProperty("placements")[0].GetProperty("state").GetString());

            // The agent kept each revision's compose file.
            var history = Path.Combine(fleet.Agent.ProjectsDirectory, project, ".instadeploy", "history");
            Assert.Equal(["1", "2", "3"], Directory.GetDirectories(history).Select(Path.GetFileName).Order());
            Assert.Contains("v2", File.ReadAllText(Path.Combine(history, "2", "docker-compose.yml")));
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task AServiceTheEngineRestartsUntilItComesUpPassesTheHealthGate()
    {
        var project = E2E.Project("retry");
        // Fails its first start (its dependency "is not up yet"), then runs: the engine restarts it per its policy.
        var compose = """
            services:
              web:
                image: local/busybox:1
                init: true
                restart: on-failure
                command: ["sh", "-c", "if [ ! -f /tmp/started-once ]; then touch /tmp/started-once; echo database not up yet; exit 1; fi; sleep 600"]
            """;
        try
        {
            var deploy = await DeployAsync(project, compose, healthWaitSeconds: 30);
            Assert.True(deploy.GetProperty("status").GetString() == "COMPLETED", deploy.GetRawText());
            Assert.Contains("restarted 1 time(s)", deploy.GetProperty("logs").GetString());
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task RollbackRedeploysTheNamedRevisionOrThePreviousSuccessfulOne()
    {
        var project = E2E.Project("rollback");
        try
        {
            foreach (var version in new[] { "v1", "v2", "v3" })
                Assert.Equal("COMPLETED", (await DeployAsync(project, Good(version))).GetProperty("status").GetString());
            Assert.Equal(["v3"], await RunningVersionsAsync(project));

            // Rolling back again keeps going back: 3 -> 2 -> 1, not back and forth between 3 and 2.
            var previous = await SendAsync($"/deployments/{project}/rollback", new { });
            Assert.True(previous.GetProperty("status").GetString() == "COMPLETED", previous.GetRawText());
            Assert.Equal(["v2"], await RunningVersionsAsync(project));
            Assert.Equal("COMPLETED", (await SendAsync($"/deployments/{project}/rollback", new { })).GetProperty("status").GetString());
            Assert.Equal(["v1"], await RunningVersionsAsync(project));
            using (var nothingBefore = await fleet.Api.PostJsonAsync($"/deployments/{project}/rollback", new { }))
                Assert.Equal(HttpStatusCode.Conflict, nothingBefore.StatusCode);

            var named = await SendAsync($"/deployments/{project}/rollback", new { revision = 3 });
            Assert.Equal("COMPLETED", named.GetProperty("status").GetString());
            Assert.Equal(["v3"], await RunningVersionsAsync(project));

            var revisions = await RevisionsAsync(project);
            Assert.Equal([(6, 3), (5, 1), (4, 2)], revisions.Take(3).Select(r => (r.GetProperty("revision").GetInt32(), r.GetProperty("rollback_of").GetInt32())));
            Assert.True(revisions[0].GetProperty("current").GetBoolean());
            Assert.Equal(revisions.Single(r => r.GetProperty("revision").GetInt32() == 3).GetProperty("compose_sha256").GetString(),
                revisions[0].GetProperty("compose_sha256").GetString());
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task TheAgentKeepsOnlyTheLastFewRevisionsOfAProject()
    {
        var project = E2E.Project("history");
        try
        {
            for (var version = 1; version <= 7; version++)
                Assert.Equal("COMPLETED", (await DeployAsync(project, Good($"v{version}"), healthWaitSeconds: 0)).GetProperty("status").GetString());
            var history = Path.Combine(fleet.Agent.ProjectsDirectory, project, ".instadeploy", "history");
            Assert.Equal(["3", "4", "5", "6", "7"], Directory.GetDirectories(history).Select(Path.GetFileName).Order());
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task ASecretReachesTheContainerAndAppearsNowhereElseInClearText()
    {
        var project = E2E.Project("secrets");
        var secret = "pw-" + Guid.NewGuid().ToString("N")[..16] + "-$HOME";
        const string motto = "a b #not-a-comment $HOME";
        var compose = """
            services:
              app:
                image: local/busybox:1
                init: true
                env_file: .env
                labels:
                  level: "${LOG_LEVEL}"
                command: ["sh", "-c", "echo \"password is $$DB_PASSWORD\"; echo \"level is $$LOG_LEVEL\"; sleep 600"]
            """;
        try
        {
            await PutAsync(project, "DB_PASSWORD", new { value = secret, secret = true });
            await PutAsync(project, "LOG_LEVEL", new { value = "info" });
            await PutAsync(project, "LOG_LEVEL", new { value = "trace", agent_id = FleetFixture.AgentId });
            await PutAsync(project, "MOTTO", new { value = motto });

            var deploy = await DeployAsync(project, compose);
            Assert.True(deploy.GetProperty("status").GetString() == "COMPLETED", deploy.GetRawText());
            Assert.Contains("with 3 variable(s): DB_PASSWORD (secret), LOG_LEVEL, MOTTO", deploy.GetProperty("logs").GetString());

            // It reached the container exactly, and the per-agent value won for ${LOG_LEVEL} in the compose file.
            var container = Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
            var environment = (await DockerCli.RunAsync("inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", container)).Output.Split('\n');
            Assert.Contains($"DB_PASSWORD={secret}", environment);
            Assert.Contains($"MOTTO={motto}", environment);
            Assert.Contains("LOG_LEVEL=trace", environment);
            Assert.Equal("trace", (await DockerCli.RunAsync("inspect", "-f", "{{index .Config.Labels \"level\"}}", container)).Output.Trim());

            // On the agent: an owner-only .env beside the compose file.
            var envFile = Path.Combine(fleet.Agent.ProjectsDirectory, project, ".env");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(envFile));

            // The container prints it; its logs through the API show it redacted.
            string logs = "";
            await Eventually.TrueAsync(async () =>
            {
                logs = await fleet.Api.GetStringAsync($"/deployments/{project}/logs?tail=20");
                return logs.Contains("level is trace");
            }, TimeSpan.FromSeconds(20), "the container's output");
            Assert.Contains("password is ********", logs);

            // Nowhere in clear: API answers, the control plane's and the agent's logs, the database files.
            var answers = new List<string> { logs };
            foreach (var path in new[] { $"/deployments/{project}/env", $"/jobs?project_name={project}", $"/deployments/{project}/revisions",
                         $"/deployments/{project}/revisions/1", $"/jobs/{deploy.GetProperty("job_id").GetString()}/logs", $"/deployments/{project}" })
                answers.Add(await fleet.Api.GetStringAsync(path));
            Assert.All(answers, answer => Assert.DoesNotContain(secret, answer));
            Assert.DoesNotContain(fleet.ControlPlane.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(fleet.Agent.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
            await SecretScan.AssertNotInFilesAsync(fleet.ControlPlane.DataDirectory, "instadeploy.db*", secret);
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    private async Task PutAsync(string project, string name, object body)
    {
        using var response = await fleet.Api.PutAsJsonAsync($"/deployments/{project}/env/{name}", body, Api.Json);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ContainerLogsCanBeReadAndFollowedLive()
    {
        var project = E2E.Project("logs");
        var compose = """
            services:
              ticker:
                image: local/busybox:1
                init: true
                command: ["sh", "-c", "i=0; while true; do echo tick $$i; i=$$((i+1)); sleep 0.5; done"]
            """;
        try
        {
            Assert.Equal("COMPLETED", (await DeployAsync(project, compose)).GetProperty("status").GetString());
            await Eventually.TrueAsync(async () => (await fleet.Api.GetStringAsync($"/deployments/{project}/logs?tail=3")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 3,
                TimeSpan.FromSeconds(20), "three lines of the container's output");
            var tail = (await fleet.Api.GetStringAsync($"/deployments/{project}/logs?tail=3&timestamps=true")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, tail.Length);
            Assert.All(tail, line => Assert.Matches(@"^\d{4}-\d{2}-\d{2}T[0-9:.]+Z tick \d+$", line));

            using var response = await fleet.Api.GetAsync($"/deployments/{project}/logs?tail=0&follow=true&follow_seconds=4", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var started = DateTime.UtcNow;
            var ticks = new List<(int Number, TimeSpan At)>();
            string? end = null;
            var eventName = "";
            while (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) eventName = line["event: ".Length..];
                else if (line.StartsWith("data: tick ", StringComparison.Ordinal) && eventName == "log") ticks.Add((int.Parse(line["data: tick ".Length..], CultureInfo.InvariantCulture), DateTime.UtcNow - started));
                else if (line.StartsWith("data: ", StringComparison.Ordinal) && eventName == "end") end = line;
            }
            Assert.NotNull(end);
            Assert.Contains("COMPLETED", end);
            Assert.True(ticks.Count >= 4, $"only {ticks.Count} lines in 4 s of following");
            Assert.True(ticks[^1].At - ticks[0].At > TimeSpan.FromSeconds(1.5), "lines arrived together, not as they were printed");
            Assert.Equal(ticks.Select(t => t.Number).Order(), ticks.Select(t => t.Number));

            // Following a project's logs does not hold up its next deploy.
            using var longFollow = await fleet.Api.GetAsync($"/deployments/{project}/logs?follow=true&follow_seconds=60", HttpCompletionOption.ResponseHeadersRead);
            var logsJob = longFollow.Headers.GetValues("X-InstaDeploy-Job-Id").Single();
            await Eventually.TrueAsync(async () => (await fleet.Api.GetJsonAsync($"/jobs/{logsJob}")).GetProperty("status").GetString() == "RUNNING",
                TimeSpan.FromSeconds(20), "the LOGS job to run");
            // The deploy does not wait for the follow's 60 s. (Its containers carry the new revision's label, so compose
            // replaces them, and the follow of the old container ends with it.)
            var redeployStarted = DateTime.UtcNow;
            Assert.Equal("COMPLETED", (await DeployAsync(project, compose, healthWaitSeconds: 0)).GetProperty("status").GetString());
            Assert.True(DateTime.UtcNow - redeployStarted < TimeSpan.FromSeconds(45), "the deploy waited for the LOGS job");
            await fleet.Api.WaitForJobAsync(logsJob, TimeSpan.FromSeconds(30)); // ended with its container, not left running
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }
}
