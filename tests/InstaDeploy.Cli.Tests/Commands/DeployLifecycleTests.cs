namespace InstaDeploy.Cli.Tests.Commands;

/// <summary>
/// deploy, status, logs, revisions, rollback and stop on the real Docker engine: what the CLI says is checked against
/// what `docker` itself shows.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class DeployLifecycleTests(CliFixture fleet) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("instadeploy-cli-compose-").FullName;

    private static string Compose(string version) => $$"""
        services:
          web:
            image: local/busybox:1
            command: ["sh", "-c", "echo hello from v{{version}}; sleep 600"]
            init: true
            labels:
              version: "{{version}}"
        """;

    private string Write(string fileName, string text)
    {
        var path = Path.Combine(_folder, fileName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<string[]> RunningVersionsAsync(string project)
    {
        var versions = new List<string>();
        foreach (var container in await DockerCli.ContainersOfProjectAsync(project, runningOnly: true))
            versions.Add((await DockerCli.RunAsync("inspect", "-f", "{{index .Config.Labels \"version\"}}", container)).Output.Trim());
        return [.. versions];
    }

    [Fact]
    public async Task DeployStatusLogsRevisionsDiffRollbackAndStopWorkOnTheEngine()
    {
        var project = CliFixture.UniqueProject("cli-life");
        using var user = await fleet.LoggedInUserAsync();
        try
        {
            // The project's name comes from the compose file's folder, as compose's own does.
            var v1 = Write(Path.Combine(project, "docker-compose.yml"), Compose("1"));
            var deployed = await user.RunAsync("deploy", "-f", v1, "--follow");
            Assert.True(deployed.ExitCode == 0, deployed.ToString());
            Assert.Contains("Waiting up to", deployed.Stdout); // the agent's output, streamed
            Assert.Matches($@"Deploying {project}: job job-\S+ on {CliFixture.AgentId}", deployed.Stderr);
            Assert.Equal(["1"], await RunningVersionsAsync(project));

            var status = await user.RunAsync("status", project);
            Assert.True(status.ExitCode == 0, status.ToString());
            Assert.Matches(@"CONTAINER\s+SERVICE\s+STATE\s+HEALTH\s+PORTS", status.Stdout);
            Assert.Matches(@"\s+web\s+running", status.Stdout);
            var statusJson = CliFixture.Json((await user.RunAsync("status", project, "-o", "json")).Stdout);
            Assert.Equal("web", statusJson.GetProperty("result").GetProperty("containers")[0].GetProperty("service").GetString());

            Assert.Matches($@"PROJECT\s+AGENT\s+STATE\s+REVISION[\s\S]+{project}\s+{CliFixture.AgentId}\s+running\s+1[\s\S]+CONTAINER", status.Stdout);
            var placements = CliFixture.Json((await user.RunAsync("status", project, "--placements", "-o", "json")).Stdout);
            Assert.Equal(CliFixture.Shape(await fleet.Api.GetJsonAsync($"/deployments/{project}")), CliFixture.Shape(placements));
            Assert.Equal(4, (await user.RunAsync("status", "never-deployed")).ExitCode);

            var deployments = await user.RunAsync("status");
            Assert.Matches($@"{project}\s+{CliFixture.AgentId}\s+running\s+1", deployments.Stdout);

            await Eventually.TrueAsync(async () => (await user.RunAsync("logs", project)).Stdout.Contains("hello from v1"), TimeSpan.FromSeconds(20), "the container's output in `logs`");
            var logs = await user.RunAsync("logs", project, "--tail", "5", "--service", "web", "--timestamps");
            Assert.True(logs.ExitCode == 0, logs.ToString());
            Assert.Matches(@"\d{4}-\d\d-\d\dT\S+ hello from v1", logs.Stdout);

            var v2 = Write("v2.yml", Compose("2"));
            var second = await user.RunAsync("deploy", "-f", v2, "--project", project, "--wait", "-q");
            Assert.True(second.ExitCode == 0, second.ToString());
            Assert.StartsWith("job-", second.Stdout.Trim());
            Assert.Equal(["2"], await RunningVersionsAsync(project));

            var revisions = await user.RunAsync("revisions", "ls", project);
            Assert.Matches(@"REVISION\s+CURRENT\s+AGENT\s+OUTCOME", revisions.Stdout);
            Assert.Matches($@"2\s+\*\s+{CliFixture.AgentId}\s+succeeded", revisions.Stdout);
            var revisionsJson = CliFixture.Json((await user.RunAsync("revisions", "ls", project, "-o", "json")).Stdout);
            var api = await fleet.Api.GetJsonAsync($"/deployments/{project}/revisions");
            Assert.Equal(2, revisionsJson.GetArrayLength());
            Assert.Equal(CliFixture.Shape(api[0]), CliFixture.Shape(revisionsJson[0]));

            Assert.Equal(File.ReadAllText(v1), (await user.RunAsync("revisions", "show", project, "1", "--compose")).Stdout);
            var diff = await user.RunAsync("revisions", "diff", project, "1", "2");
            Assert.True(diff.ExitCode == 0, diff.ToString());
            Assert.Contains($"--- {project} revision 1\n+++ {project} revision 2\n@@ ", diff.Stdout);
            Assert.Contains("-    command: [\"sh\", \"-c\", \"echo hello from v1; sleep 600\"]\n+    command: [\"sh\", \"-c\", \"echo hello from v2; sleep 600\"]\n", diff.Stdout);
            Assert.Contains("+      version: \"2\"", diff.Stdout);
            Assert.Equal(4, (await user.RunAsync("revisions", "diff", project, "2", "9")).ExitCode);

            var rollback = await user.RunAsync("rollback", project, "--to", "1", "--follow");
            Assert.True(rollback.ExitCode == 0, rollback.ToString());
            Assert.Contains("Waiting up to", rollback.Stdout);
            Assert.Equal(["1"], await RunningVersionsAsync(project));

            var jobs = (await user.RunAsync("jobs", "ls", "--project", project, "-q")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(jobs.Length >= 3, string.Join(", ", jobs));

            var stop = await user.RunAsync("stop", project, "--wait");
            Assert.True(stop.ExitCode == 0, stop.ToString());
            Assert.Empty(await DockerCli.ContainersOfProjectAsync(project));
        }
        finally
        {
            await RemoveAsync(project);
        }
    }

    [Fact]
    public async Task AFailedDeployFollowedFromCiExitsWithCode1AndSaysWhy()
    {
        var project = CliFixture.UniqueProject("cli-fail");
        using var user = await fleet.LoggedInUserAsync();
        try
        {
            var crashing = Write("crash.yml", """
                services:
                  web:
                    image: local/busybox:1
                    command: ["sh", "-c", "echo cannot reach the database; exit 3"]
                """);
            var result = await user.RunProcessAsync("deploy", "-f", crashing, "-p", project, "--follow", "--health-wait", "10");
            Assert.True(result.ExitCode == 1, result.ToString());
            Assert.Contains("Waiting up to 10 s", result.Stdout);
            var last = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
            Assert.Matches(@"^error: Job job-\S+ FAILED: ", last);

            var json = await user.RunProcessAsync("jobs", "ls", "--project", project, "-o", "json");
            Assert.Equal("FAILED", CliFixture.Json(json.Stdout)[0].GetProperty("status").GetString());
        }
        finally
        {
            await RemoveAsync(project);
        }
    }

    [Fact]
    public async Task DeployRefusesBadInputBeforeSendingAnything()
    {
        using var user = await fleet.LoggedInUserAsync();
        var missing = await user.RunAsync("deploy", "-f", Path.Combine(_folder, "absent.yml"), "-p", "x");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("No compose file", missing.Stderr);

        var compose = Write("docker-compose.yml", Compose("1"));
        var badName = await user.RunAsync("deploy", "-f", compose, "-p", "not/valid");
        Assert.Equal(2, badName.ExitCode);
        Assert.Contains("not a valid project name", badName.Stderr);

        var strategyWithoutRollout = await user.RunAsync("deploy", "-f", compose, "-p", "x", "--max-parallel", "2");
        Assert.Equal(2, strategyWithoutRollout.ExitCode);
        Assert.Contains("--max-parallel applies to a rollout", strategyWithoutRollout.Stderr);

        var notCompose = Write("not-compose.yml", "just: text\n");
        var refused = await user.RunAsync("deploy", "-f", notCompose, "-p", "cli-refused");
        Assert.Equal(2, refused.ExitCode);
        Assert.StartsWith("error: The request is not valid (400): compose_file_base64: ", refused.Stderr);
        Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(0, (await fleet.Api.GetJsonAsync("/jobs?project_name=cli-refused")).GetArrayLength());
    }

    private static async Task RemoveAsync(string project)
    {
        foreach (var name in await DockerCli.ContainersOfProjectAsync(project)) await DockerCli.RunAsync("rm", "-f", name);
        await DockerCli.RunAsync("network", "rm", $"{project}_default");
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
