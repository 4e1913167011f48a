namespace InstaDeploy.Cli.Tests.Configuration;

/// <summary>Which control plane a command reaches: the current context, another one by name, INSTADEPLOY_URL and
/// INSTADEPLOY_API_KEY over the file, flags over both.</summary>
[Collection(CliCollection.Name)]
public sealed class ContextSwitchTests(CliFixture fleet)
{
    [Fact]
    public async Task SwitchingContextsSwitchesControlPlanes()
    {
        await using var other = new ControlPlaneFactory(); // a second control plane, with no agent at all
        using var user = await fleet.LoggedInUserAsync();
        await user.LogInAsync("empty", other.BaseAddress, ControlPlaneFactory.AdminApiKey);

        async Task<string[]> AgentIdsAsync(params string[] extra)
        {
            var result = await user.RunProcessAsync(["agents", "ls", "-q", .. extra]);
            Assert.True(result.ExitCode == 0, result.ToString());
            return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }

        Assert.Equal([CliFixture.AgentId], await AgentIdsAsync()); // the first context added stays current
        Assert.Equal(0, (await user.RunProcessAsync("context", "use", "empty")).ExitCode);
        Assert.Empty(await AgentIdsAsync());
        Assert.Equal([CliFixture.AgentId], await AgentIdsAsync("--context", "test"));
        Assert.Equal(0, (await user.RunProcessAsync("context", "use", "test")).ExitCode);
        Assert.Equal([CliFixture.AgentId], await AgentIdsAsync());
        Assert.Empty(await AgentIdsAsync("--context", "empty"));

        var chosenByEnvironment = await user.RunProcessAsync(["agents", "ls", "-q"], environment: new Dictionary<string, string?> { ["INSTADEPLOY_CONTEXT"] = "empty" });
        Assert.True(chosenByEnvironment.ExitCode == 0, chosenByEnvironment.ToString());
        Assert.Equal("", chosenByEnvironment.Stdout);
        var unknown = await user.RunProcessAsync(["agents", "ls"], environment: new Dictionary<string, string?> { ["INSTADEPLOY_CONTEXT"] = "nope" });
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("INSTADEPLOY_CONTEXT names no context 'nope'", unknown.Stderr);
    }

    [Fact]
    public async Task EnvironmentOverridesTheFileAndFlagsOverrideBoth()
    {
        using var user = new CliUser();
        var closed = $"http://127.0.0.1:{FreePort()}";
        Assert.Equal(0, (await user.RunAsync("context", "add", "stale", closed)).ExitCode);

        var fromFile = await user.RunProcessAsync(["agents", "ls"], environment: new Dictionary<string, string?> { ["INSTADEPLOY_API_KEY"] = ControlPlaneFactory.AdminApiKey });
        Assert.True(fromFile.ExitCode == 5, fromFile.ToString());
        Assert.Contains("Cannot reach the control plane", fromFile.Stderr);

        var environment = new Dictionary<string, string?> { ["INSTADEPLOY_URL"] = fleet.Url.ToString(), ["INSTADEPLOY_API_KEY"] = ControlPlaneFactory.AdminApiKey };
        var fromEnvironment = await user.RunProcessAsync(["agents", "ls", "-q"], environment: environment);
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.ToString());
        Assert.Equal(CliFixture.AgentId, fromEnvironment.Stdout.Trim());

        var flag = await user.RunProcessAsync(["agents", "ls", "--url", closed], environment: environment);
        Assert.True(flag.ExitCode == 5, flag.ToString());

        var flagOverEnvironment = await user.RunProcessAsync(["agents", "ls", "--url", fleet.Url.ToString()],
            environment: new Dictionary<string, string?> { ["INSTADEPLOY_URL"] = closed, ["INSTADEPLOY_API_KEY"] = ControlPlaneFactory.AdminApiKey });
        Assert.True(flagOverEnvironment.ExitCode == 0, flagOverEnvironment.ToString());

        // An explicit --context takes its own URL and key: the environment's are not sent to it.
        var named = await user.RunProcessAsync(["agents", "ls", "--context", "stale"], environment: environment);
        Assert.True(named.ExitCode == 3, named.ToString());
        Assert.Contains("No API key for context 'stale'", named.Stderr);
    }

    [Fact]
    public async Task NothingConfiguredIsAUsageErrorThatSaysWhatToDo()
    {
        using var user = new CliUser();
        var result = await user.RunProcessAsync("jobs", "ls");
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("instadeploy context add", result.Stderr);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
