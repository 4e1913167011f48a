using System.Net;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests;

/// <summary>Deployments over REST that really start, report and stop containers on the Docker engine.</summary>
public sealed class ComposeDeploymentTests(FleetFixture fleet) : IClassFixture<FleetFixture>
{
    private static string ExampleCompose(int port, string service = "web") =>
        File.ReadAllText(Path.Combine(DockerCli.RepositoryRoot(), "examples", "docker-compose-test.yml"))
            .Replace("127.0.0.1:18080:8080", $"127.0.0.1:{port}:8080")
            .Replace("  web:", $"  {service}:");

    private async Task<JsonElement> RunAsync(string path, object body)
    {
        using var response = await fleet.Api.PostJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
        return await fleet.Api.WaitForJobAsync(jobId, TimeSpan.FromMinutes(2));
    }

    [Fact]
    public async Task TheExampleDeploysRunsReportsItsContainersAndStops()
    {
        var project = E2E.Project("example");
        var port = FleetFixture.FreePort();
        try
        {
            var deploy = await RunAsync("/deploy", new { project_name = project, compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(ExampleCompose(port))) });
            Assert.True(deploy.GetProperty("status").GetString() == "COMPLETED", deploy.GetRawText());
            Assert.Contains("Deployment successful", deploy.GetProperty("logs").GetString());
            Assert.True(File.Exists(Path.Combine(fleet.Agent.ProjectsDirectory, project, "docker-compose.yml")));

            var running = await DockerCli.ContainersOfProjectAsync(project, runningOnly: true);
            Assert.Single(running);
            using (var http = new HttpClient())
            {
                string page = "";
                await Eventually.TrueAsync(async () =>
                {
                    try { page = await http.GetStringAsync($"http://127.0.0.1:{port}/"); return true; }
                    catch (HttpRequestException) { return false; }
                }, TimeSpan.FromSeconds(20), "the deployed web server to answer");
                Assert.Contains("Deployed by InstaDeploy", page);
            }
            var placement = (await fleet.Api.GetJsonAsync($"/deployments/{project}")).GetProperty("placements")[0];
            Assert.Equal(("running", FleetFixture.AgentId), (placement.GetProperty("state").GetString(), placement.GetProperty("agent_id").GetString()));

            var status = await RunAsync("/status", new { project_name = project });
            Assert.Equal("COMPLETED", status.GetProperty("status").GetString());
            var container = Assert.Single(status.GetProperty("result").GetProperty("containers").EnumerateArray());
            Assert.Equal(running[0], container.GetProperty("name").GetString());
            Assert.Equal("web", container.GetProperty("service").GetString());
            Assert.Equal("running", container.GetProperty("state").GetString());
            Assert.Contains($"127.0.0.1:{port}->8080/tcp", container.GetProperty("ports").EnumerateArray().Select(p => p.GetString()));

            var stop = await RunAsync("/stop", new { project_name = project });
            Assert.True(stop.GetProperty("status").GetString() == "COMPLETED", stop.GetRawText());
            Assert.Empty(await DockerCli.ContainersOfProjectAsync(project));
            Assert.Equal("stopped", (await fleet.Api.GetJsonAsync($"/deployments/{project}")).GetProperty("placements")[0].GetProperty("state").GetString());

            var statusAfter = await RunAsync("/status", new { project_name = project });
            Assert.Equal(0, statusAfter.GetProperty("result").GetProperty("containers").GetArrayLength());
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task ADeploysOutputCanBeFollowedLiveAndLinesArriveBeforeTheJobEnds()
    {
        var project = E2E.Project("follow");
        var slow = TestComposeFiles.Slow(readyAfterSeconds: 3);
        try
        {
            using var response = await fleet.Api.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = Base64(slow) });
            var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;

            using var stream = await fleet.Api.GetAsync($"/jobs/{jobId}/logs?follow=true", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
            var events = new List<(string Name, string Data, string StatusThen)>();
            string? name = null;
            var data = new List<string>();
            while (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2)) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line["event: ".Length..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal)) data.Add(line["data: ".Length..]);
                else if (line.Length == 0 && name is not null)
                {
                    var statusThen = (await fleet.Api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString()!;
                    events.Add((name, string.Join('\n', data), statusThen));
                    if (name == "end") break;
                    (name, data) = (null, []);
                }
            }

            Assert.Equal("end", events[^1].Name);
            Assert.Contains("\"status\":\"COMPLETED\"", events[^1].Data);
            var early = events.FirstOrDefault(e => e.Name == "log" && e.Data.Contains("Creating"));
            Assert.True(early.Name is not null, string.Join(" | ", events));
            Assert.True(early.StatusThen is "SENT" or "RUNNING", $"the first lines came when the job was already {early.StatusThen}");
            var streamed = string.Join('\n', events.Where(e => e.Name == "log").Select(e => e.Data));
            Assert.Contains("Deployment successful", streamed);

            var stored = await fleet.Api.GetStringAsync($"/jobs/{jobId}/logs");
            Assert.Contains("Deployment successful", stored);
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task ARedeployReplacesTheProjectAndRemovesServicesNoLongerInIt()
    {
        var project = E2E.Project("redeploy");
        try
        {
            var first = await RunAsync("/deploy", new { project_name = project, compose_file_base64 = Base64(ExampleCompose(FleetFixture.FreePort(), "web")) });
            Assert.True(first.GetProperty("status").GetString() == "COMPLETED", first.GetRawText());
            var second = await RunAsync("/deploy", new { project_name = project, compose_file_base64 = Base64(ExampleCompose(FleetFixture.FreePort(), "api")), agent_id = FleetFixture.AgentId });
            Assert.True(second.GetProperty("status").GetString() == "COMPLETED", second.GetRawText());

            var containers = await DockerCli.ContainersOfProjectAsync(project);
            var only = Assert.Single(containers);
            Assert.Contains("api", only);
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task DeploysOfOneProjectSentBackToBackRunInOrderAndTheLastOneWins()
    {
        var project = E2E.Project("ordered");
        try
        {
            var jobIds = new List<string>();
            foreach (var service in new[] { "one", "two", "three" })
            {
                using var response = await fleet.Api.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = Base64(ExampleCompose(FleetFixture.FreePort(), service)) });
                jobIds.Add((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
            }
            foreach (var jobId in jobIds)
            {
                var job = await fleet.Api.WaitForJobAsync(jobId, TimeSpan.FromMinutes(2));
                Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
            }

            var only = Assert.Single(await DockerCli.ContainersOfProjectAsync(project));
            Assert.Contains("three", only);

            // The agent started each job only after the one before it had finished.
            var events = fleet.Agent.Logs.Lines.Where(l => jobIds.Any(l.Contains) && (l.Contains(": running ") || l.Contains(" finished "))).ToList();
            var expected = jobIds.SelectMany(id => new[] { $"{id}: running", $"{id}: DEPLOY_COMPOSE finished" }).ToList();
            Assert.Equal(expected, events.Select(e => expected.First(x => e.Contains(x))).ToList());
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task ProjectsWhoseNamesDifferOnlyInCaseAreNotMixedUp()
    {
        var project = E2E.Project("case");
        try
        {
            var first = await RunAsync("/deploy", new { project_name = project, compose_file_base64 = Base64(ExampleCompose(FleetFixture.FreePort())) });
            Assert.Equal("COMPLETED", first.GetProperty("status").GetString());
            var second = await RunAsync("/deploy", new { project_name = project.ToUpperInvariant(), compose_file_base64 = Base64(ExampleCompose(FleetFixture.FreePort(), "other")) });
            Assert.Equal("FAILED", second.GetProperty("status").GetString());
            Assert.Contains($"same compose project ('{project}') as project '{project}'", second.GetProperty("error").GetString());
            Assert.Contains("web", Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true)));
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task AComposeFileTheEngineRejectsFailsTheJobWithComposesOwnError()
    {
        var project = E2E.Project("broken");
        try
        {
            var compose = "services:\n  web:\n    image: local/busybox:1\n    ports:\n      - \"not-a-port\"\n";
            var job = await RunAsync("/deploy", new { project_name = project, compose_file_base64 = Base64(compose) });
            Assert.Equal("FAILED", job.GetProperty("status").GetString());
            var error = job.GetProperty("error").GetString()!;
            Assert.Contains("compose up exited with code", error);
            Assert.Contains("ports", error); // compose names what is wrong in the file
            Assert.Equal("failed", (await fleet.Api.GetJsonAsync($"/deployments/{project}")).GetProperty("placements")[0].GetProperty("state").GetString());
            Assert.Empty(await DockerCli.ContainersOfProjectAsync(project));
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task AHealthCheckReportsTheRealEngineAndComposeAndThePlugins()
    {
        using var response = await fleet.Api.PostAsync($"/agents/{FleetFixture.AgentId}/health", null);
        var job = await fleet.Api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        Assert.True(job.GetProperty("status").GetString() == "COMPLETED", job.GetRawText());
        var report = job.GetProperty("result");
        Assert.True(report.GetProperty("healthy").GetBoolean());
        var (_, engineVersion) = await DockerCli.RunAsync("version", "--format", "{{.Server.Version}}");
        Assert.Equal(engineVersion.Trim(), report.GetProperty("docker").GetProperty("version").GetString());
        Assert.True(report.GetProperty("compose").GetProperty("available").GetBoolean());
        Assert.True(report.GetProperty("projects_dir").GetProperty("writable").GetBoolean());
        Assert.True(report.GetProperty("projects_dir").GetProperty("free_bytes").GetInt64() > 0);
        Assert.Equal(2, report.GetProperty("plugins").GetArrayLength());
    }

    [Fact]
    public async Task WhereTheComposeV2PluginExistsTheAgentUsesDockerCompose()
    {
        // This machine has compose v1 only. A `docker` shim that answers `docker compose ...` by running docker-compose
        // stands in for the v2 plugin, so the v2 command line the agent builds runs against the real engine.
        var shimFolder = Directory.CreateTempSubdirectory("instadeploy-compose-v2-").FullName;
        var calls = Path.Combine(shimFolder, "calls.log");
        var shim = Path.Combine(shimFolder, "docker");
        await File.WriteAllTextAsync(shim, $"""
            #!/bin/sh
            printf '%s\n' "$*" >> '{calls}'
            if [ "$1" = compose ]; then shift; exec docker-compose "$@"; fi
            exec docker "$@"
            """);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var project = E2E.Project("v2");
        await using var agent = await TestAgent.StartAsync(fleet.ControlPlane.WebSocketUrl, fleet.ControlPlane.AgentToken, "e2e-agent-v2",
            new Dictionary<string, string?> { ["DOCKER_PATH"] = shim });
        try
        {
            await fleet.Api.WaitForAgentOnlineAsync(agent.Hostname);
            using var health = await fleet.Api.PostAsync($"/agents/{agent.Hostname}/health", null);
            var report = (await fleet.Api.WaitForJobAsync((await health.ReadJsonAsync()).GetProperty("job_id").GetString()!)).GetProperty("result");
            Assert.Equal("docker compose (v2)", report.GetProperty("compose").GetProperty("variant").GetString());

            var deploy = await RunAsync("/deploy", new { project_name = project, agent_id = agent.Hostname, compose_file_base64 = Base64(ExampleCompose(FleetFixture.FreePort())) });
            Assert.True(deploy.GetProperty("status").GetString() == "COMPLETED", deploy.GetRawText());
            Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
            var composeFile = Path.Combine(agent.ProjectsDirectory, project, "docker-compose.yml");
            // The second file labels every container with its revision (io.instadeploy.revision), so STATUS can tell it.
            var labels = Path.Combine(agent.ProjectsDirectory, project, ".instadeploy", "revision-labels.yml");
            Assert.Contains($"compose -p {project} -f {composeFile} -f {labels} up -d --remove-orphans", await File.ReadAllLinesAsync(calls));

            var stop = await RunAsync("/stop", new { project_name = project, agent_id = agent.Hostname });
            Assert.True(stop.GetProperty("status").GetString() == "COMPLETED", stop.GetRawText());
            Assert.Empty(await DockerCli.ContainersOfProjectAsync(project));
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
            Directory.Delete(shimFolder, recursive: true);
        }
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
