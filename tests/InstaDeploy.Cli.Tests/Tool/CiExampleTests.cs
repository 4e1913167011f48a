using System.Diagnostics;

namespace InstaDeploy.Cli.Tests.Tool;

/// <summary>examples/ci/deploy.sh, the step the example pipelines run, against the real control plane, agent and Docker.</summary>
[Collection(CliCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CiExampleTests(CliFixture fleet) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("instadeploy-cli-ci-").FullName;

    private async Task<CliResult> DeployShAsync(CliUser user, string key, params string[] args)
    {
        var bin = Directory.CreateDirectory(Path.Combine(_folder, "bin")).FullName;
        CliUser.WriteCommand(bin);
        var start = new ProcessStartInfo("bash", [Path.Combine(DockerCli.RepositoryRoot(), "examples", "ci", "deploy.sh"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["PATH"] = bin + ":" + start.Environment["PATH"];
        start.Environment["HOME"] = user.Home;
        start.Environment["INSTADEPLOY_URL"] = fleet.Url.ToString();
        start.Environment["INSTADEPLOY_API_KEY"] = key;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task TheCiStepDeploysWithASecretAndFailsThePipelineWhenTheDeployFails()
    {
        var project = CliFixture.UniqueProject("cli-ci");
        var (_, ciKey) = await fleet.CreateKeyAsync("ci-example", "deploy");
        var secret = "ci-secret-" + Guid.NewGuid().ToString("N");
        using var user = new CliUser();
        var compose = Path.Combine(_folder, "docker-compose.yml");
        await File.WriteAllTextAsync(compose, """
            services:
              web:
                image: local/busybox:1
                command: ["sh", "-c", "test -n \"$$DB_PASSWORD\" && sleep 600"]
                init: true
                environment:
                  DB_PASSWORD: ${DB_PASSWORD}
            """);
        var envFile = Path.Combine(_folder, "production.env");
        await File.WriteAllTextAsync(envFile, $"LOG_LEVEL=info\nDB_PASSWORD={secret}\n");
        try
        {
            var deployed = await DeployShAsync(user, ciKey, compose, project, envFile, "DB_PASSWORD");
            Assert.True(deployed.ExitCode == 0, deployed.ToString());
            Assert.Contains($"deploying {project} as job job-", deployed.Stdout);
            Assert.Contains("Waiting up to", deployed.Stdout);
            Assert.Matches(@"\s+web\s+running", deployed.Stdout);
            Assert.DoesNotContain(secret, deployed.Stdout + deployed.Stderr);
            Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));

            // The same step with a file whose container crashes: the pipeline fails, the agent restores revision 1.
            await File.WriteAllTextAsync(compose, """
                services:
                  web:
                    image: local/busybox:1
                    command: ["sh", "-c", "exit 3"]
                """);
            var failed = await DeployShAsync(user, ciKey, compose, project);
            Assert.True(failed.ExitCode == 1, failed.ToString());
            Assert.Contains("the deploy of " + project + " failed (exit 1)", failed.Stderr);
            Assert.Matches(@"2\s+\S*\s*cli-agent\s+rolled_back", failed.Stderr);
            Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
        }
        finally
        {
            foreach (var name in await DockerCli.ContainersOfProjectAsync(project)) await DockerCli.RunAsync("rm", "-f", name);
            await DockerCli.RunAsync("network", "rm", $"{project}_default");
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
