namespace InstaDeploy.Cli.Tests.Tool;

/// <summary>The documented exit codes, from the built program as a CI job runs it.</summary>
[Collection(CliCollection.Name)]
public sealed class ExitCodeTests(CliFixture fleet)
{
    [Fact]
    public async Task EachKindOfOutcomeHasItsExitCode()
    {
        using var user = await fleet.LoggedInUserAsync();

        Assert.Equal(0, (await user.RunProcessAsync("agents", "ls")).ExitCode);

        var usage = await user.RunProcessAsync("agents", "ls", "--no-such-flag");
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("--no-such-flag", usage.Stderr);
        Assert.Contains("See `instadeploy agents ls --help`", usage.Stderr);
        Assert.Equal(2, (await user.RunProcessAsync("deploy")).ExitCode); // -f is required
        Assert.Equal(2, (await user.RunProcessAsync("agents")).ExitCode); // a group without its subcommand
        Assert.Equal(2, (await user.RunProcessAsync("jobs", "ls", "-o", "yaml")).ExitCode);

        var authentication = await user.RunProcessAsync(["agents", "ls"], environment: new Dictionary<string, string?> { ["INSTADEPLOY_API_KEY"] = "idk_wrong" });
        Assert.Equal(3, authentication.ExitCode);
        Assert.Contains("instadeploy login", authentication.Stderr);

        Assert.Equal(4, (await user.RunProcessAsync("jobs", "show", "job-does-not-exist")).ExitCode);
        Assert.Equal(4, (await user.RunProcessAsync("revisions", "ls", "never-deployed-project")).ExitCode);

        var network = await user.RunProcessAsync("agents", "ls", "--url", "http://127.0.0.1:9");
        Assert.Equal(5, network.ExitCode);
        Assert.Contains("Cannot reach the control plane at http://127.0.0.1:9/", network.Stderr);

        // 1 (a failed job) is DeployLifecycleTests.AFailedDeployFollowedFromCiExitsWithCode1AndSaysWhy.
        Assert.Equal(0, (await user.RunProcessAsync("--version")).ExitCode);
        Assert.Equal(0, (await user.RunProcessAsync("--help")).ExitCode);
    }
}
