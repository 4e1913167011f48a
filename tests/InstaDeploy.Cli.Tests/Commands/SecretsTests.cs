namespace InstaDeploy.Cli.Tests.Commands;

/// <summary>Variables and secrets: set from standard input or an env file, never echoed, never written to the config
/// folder, masked when listed, and delivered to the containers.</summary>
[Collection(CliCollection.Name)]
public sealed class SecretsTests(CliFixture fleet) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("instadeploy-cli-env-").FullName;

    [Fact]
    public async Task DeployWithAnEnvFileSetsItsVariablesAndTheSecretIsNeverShownOrStoredLocally()
    {
        var project = CliFixture.UniqueProject("cli-env");
        var secret = "s3cr3t-" + Guid.NewGuid().ToString("N");
        using var user = await fleet.LoggedInUserAsync();
        var compose = Path.Combine(_folder, "docker-compose.yml");
        await File.WriteAllTextAsync(compose, """
            services:
              web:
                image: local/busybox:1
                command: ["sh", "-c", "echo greeting=$${GREETING} password=$${DB_PASSWORD}; sleep 600"]
                init: true
                environment:
                  GREETING: ${GREETING}
                  DB_PASSWORD: ${DB_PASSWORD}
            """);
        var envFile = Path.Combine(_folder, "prod.env");
        await File.WriteAllTextAsync(envFile, $"""
            # the production settings
            GREETING="hello world"
            export DB_PASSWORD={secret}
            """);
        try
        {
            var unknownSecret = await user.RunProcessAsync("deploy", "-f", compose, "-p", project, "--env-file", envFile, "--secret", "NOT_THERE");
            Assert.True(unknownSecret.ExitCode == 2, unknownSecret.ToString());
            Assert.Contains("--secret names NOT_THERE", unknownSecret.Stderr);
            Assert.Empty((await fleet.Api.GetJsonAsync($"/deployments/{project}/env")).GetProperty("variables").EnumerateArray());

            var deployed = await user.RunProcessAsync("deploy", "-f", compose, "-p", project, "--env-file", envFile, "--secret", "DB_PASSWORD", "--follow");
            Assert.True(deployed.ExitCode == 0, deployed.ToString());
            Assert.Contains("Set 2 variables of " + project + " (1 secret): GREETING, DB_PASSWORD", deployed.Stderr);
            Assert.DoesNotContain(secret, deployed.Stdout + deployed.Stderr);

            var listed = await user.RunProcessAsync("env", "ls", project, "-o", "json");
            var variables = CliFixture.Json(listed.Stdout).GetProperty("variables").EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!);
            Assert.Equal("********", variables["DB_PASSWORD"].GetProperty("value").GetString());
            Assert.True(variables["DB_PASSWORD"].GetProperty("secret").GetBoolean());
            Assert.Equal("hello world", variables["GREETING"].GetProperty("value").GetString());
            Assert.DoesNotContain(secret, listed.Stdout);

            // The containers got the values: the secret reached them, and their logs show it only redacted.
            var container = Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
            Assert.Contains($"DB_PASSWORD={secret}", (await DockerCli.RunAsync("inspect", "-f", "{{.Config.Env}}", container)).Output);
            await Eventually.TrueAsync(async () => (await user.RunAsync("logs", project)).Stdout.Contains("greeting=hello world"), TimeSpan.FromSeconds(20), "the container's output");
            Assert.DoesNotContain(secret, (await user.RunAsync("logs", project)).Stdout);

            await SecretScan.AssertNotInFilesAsync(user.ConfigFolder, "*", secret);
            Assert.DoesNotContain(Directory.GetFiles(user.Home, "*", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains(secret, StringComparison.Ordinal));
        }
        finally
        {
            foreach (var name in await DockerCli.ContainersOfProjectAsync(project)) await DockerCli.RunAsync("rm", "-f", name);
            await DockerCli.RunAsync("network", "rm", $"{project}_default");
        }
    }

    [Fact]
    public async Task EnvSetReadsASecretFromStandardInputAndRefusesItAsAnArgument()
    {
        var project = CliFixture.UniqueProject("cli-vars");
        var secret = "pw-" + Guid.NewGuid().ToString("N");
        using var user = await fleet.LoggedInUserAsync();

        var asArgument = await user.RunProcessAsync("env", "set", project, "DB_PASSWORD", secret, "--secret");
        Assert.True(asArgument.ExitCode == 2, asArgument.ToString());
        Assert.Contains("read from standard input", asArgument.Stderr);
        Assert.Empty((await fleet.Api.GetJsonAsync($"/deployments/{project}/env")).GetProperty("variables").EnumerateArray());

        var fromStdin = await user.RunProcessAsync(["env", "set", project, "DB_PASSWORD", "--secret"], secret + "\n");
        Assert.True(fromStdin.ExitCode == 0, fromStdin.ToString());
        Assert.DoesNotContain(secret, fromStdin.Stdout + fromStdin.Stderr);
        var plain = await user.RunProcessAsync("env", "set", project, "LOG_LEVEL", "debug");
        Assert.True(plain.ExitCode == 0, plain.ToString());

        var table = await user.RunProcessAsync("env", "ls", project);
        Assert.Matches(@"DB_PASSWORD\s+\*{8}\s+yes\s+\(all\)", table.Stdout);
        Assert.Matches(@"LOG_LEVEL\s+debug\s+no", table.Stdout);
        Assert.DoesNotContain(secret, table.Stdout);
        await SecretScan.AssertNotInFilesAsync(user.ConfigFolder, "*", secret);

        var badName = await user.RunAsync(["env", "set", project, "BAD-NAME", "x"]);
        Assert.Equal(2, badName.ExitCode);
        var line = Assert.Single(badName.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: The request is not valid (400): name: 'BAD-NAME' is not a valid variable name", line);

        var unknownAgent = await user.RunAsync(["env", "set", project, "X", "--agent", "nowhere"], "1");
        Assert.Equal(4, unknownAgent.ExitCode);

        Assert.Equal(0, (await user.RunAsync("env", "rm", project, "LOG_LEVEL")).ExitCode);
        Assert.Equal(4, (await user.RunAsync("env", "rm", project, "LOG_LEVEL")).ExitCode);
        Assert.Equal(["DB_PASSWORD"], (await user.RunAsync("env", "ls", project, "-q")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
