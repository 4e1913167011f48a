using System.Diagnostics;

namespace InstaDeploy.Cli.Tests.Rollouts;

/// <summary>examples/ci/rollout.sh, the steps the example rollout pipelines run, against the real control plane and the
/// two real agents labelled role=web on the real Docker engine, with a deploy-scope key as a CI runner has.</summary>
[Collection(RolloutCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RolloutCiExampleTests(RolloutFleetFixture fleet) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("instadeploy-cli-ci-rollout-").FullName;

    private async Task<CliResult> RolloutShAsync(string key, params string[] args)
    {
        var bin = Directory.CreateDirectory(Path.Combine(_folder, "bin")).FullName;
        CliUser.WriteCommand(bin);
        var start = new ProcessStartInfo("bash", [Path.Combine(DockerCli.RepositoryRoot(), "examples", "ci", "rollout.sh"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("INSTADEPLOY_", StringComparison.Ordinal)).ToList()) start.Environment.Remove(name);
        start.Environment["PATH"] = bin + ":" + start.Environment["PATH"];
        start.Environment["HOME"] = _folder;
        start.Environment["INSTADEPLOY_URL"] = fleet.Url.ToString();
        start.Environment["INSTADEPLOY_API_KEY"] = key;
        start.Environment["GITHUB_OUTPUT"] = Path.Combine(_folder, "github-output");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    private static async Task<string[][]> VersionsAsync(string project) =>
        [.. await Task.WhenAll(RolloutFleetFixture.WebAgents.Select(a => RolloutFleetFixture.RunningVersionsAsync(project, a)))];

    [Fact]
    public async Task TheCanaryStepStopsAtTheGateThePromoteStepFinishesAndAFailedCanaryFailsThePipeline()
    {
        var project = fleet.Project("cli-ci-ro");
        using var created = await fleet.Api.PostJsonAsync("/api-keys", new { name = "ci-rollout", scopes = new[] { "deploy" } });
        var key = (await created.ReadJsonAsync()).GetProperty("key").GetString()!;
        var compose = Path.Combine(_folder, "docker-compose.yml");
        await File.WriteAllTextAsync(compose, RolloutFleetFixture.Compose("1"));

        var canary = await RolloutShAsync(key, "start", compose, project, "role=web");
        Assert.True(canary.ExitCode == 0, canary.ToString());
        var id = canary.Stdout.Trim();
        Assert.Matches(@"^ro-[0-9a-f]+$", id);
        Assert.Equal($"rollout_id={id}\n", await File.ReadAllTextAsync(Path.Combine(_folder, "github-output")));
        Assert.Contains($"instadeploy: rolling {project} out to role=web as {id}", canary.Stderr);
        Assert.Contains("max_parallel 1 (25%), canary 1 (promoted by hand)", canary.Stderr);
        Assert.Contains($"Rollout {id} waits for promotion", canary.Stderr);
        Assert.Equal([["1"], []], await VersionsAsync(project));

        // While it waits at the gate, the project's next pipeline is refused and says why.
        var second = await RolloutShAsync(key, "start", compose, project);
        Assert.True(second.ExitCode == 1, second.ToString());
        Assert.Contains($"Rollout {id} of '{project}' has not finished", second.Stderr);

        var promoted = await RolloutShAsync(key, "promote", id);
        Assert.True(promoted.ExitCode == 0, promoted.ToString());
        Assert.Contains($"Rollout {id} succeeded: 2/2 done (2 succeeded)", promoted.Stderr);
        Assert.Equal([["1"], ["1"]], await VersionsAsync(project));

        // A canary whose container crashes: the pipeline fails at the first step, the canary gets v1 back, web-2 is left alone.
        await File.WriteAllTextAsync(compose, """
            services:
              web:
                image: local/busybox:1
                command: ["sh", "-c", "exit 3"]
                labels:
                  version: "2"
            """);
        var failed = await RolloutShAsync(key, "start", compose, project);
        Assert.True(failed.ExitCode == 1, failed.ToString());
        Assert.Contains("ended rolled_back: 1 of 2 targets failed", failed.Stderr);
        Assert.Equal([["1"], ["1"]], await VersionsAsync(project));

        Assert.Equal(4, (await RolloutShAsync(key, "promote", "ro-does-not-exist")).ExitCode);
        Assert.Equal(2, (await RolloutShAsync(key, "nonsense")).ExitCode);
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
