namespace InstaDeploy.Cli.Tests.Commands;

/// <summary>jobs ls|show|logs, on jobs the agent really ran.</summary>
[Collection(CliCollection.Name)]
public sealed class JobsCommandTests(CliFixture fleet)
{
    [Fact]
    public async Task JobsAreListedShownAndTheirOutputPrintedOrFollowed()
    {
        using var user = await fleet.LoggedInUserAsync();
        var health = await user.RunAsync("agents", "health", CliFixture.AgentId, "-q");
        Assert.True(health.ExitCode == 0, health.ToString());
        var jobId = health.Stdout.Trim();
        Assert.StartsWith("job-", jobId);

        var listed = await user.RunAsync("jobs", "ls", "--agent", CliFixture.AgentId, "--status", "COMPLETED", "--limit", "50");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Matches($@"{jobId}\s+HEALTH_CHECK\s+{CliFixture.AgentId}\s+COMPLETED", listed.Stdout);

        var json = CliFixture.Json((await user.RunAsync("jobs", "ls", "--limit", "1", "-o", "json")).Stdout);
        var api = await fleet.Api.GetJsonAsync("/jobs?limit=1");
        Assert.Equal(CliFixture.Shape(api[0]), CliFixture.Shape(json[0]));

        var shown = await user.RunAsync("jobs", "show", jobId);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Matches(@"status\s+COMPLETED", shown.Stdout);
        var shownJson = CliFixture.Json((await user.RunAsync("jobs", "show", jobId, "-o", "json")).Stdout);
        Assert.Equal(CliFixture.Shape(await fleet.Api.GetJsonAsync($"/jobs/{jobId}")), CliFixture.Shape(shownJson));

        var stored = (await fleet.Api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("logs").GetString();
        Assert.Equal(stored, (await user.RunAsync("jobs", "logs", jobId)).Stdout);
        var followed = await user.RunAsync("jobs", "logs", "-f", jobId);
        Assert.True(followed.ExitCode == 0, followed.ToString());
        Assert.Equal(stored, followed.Stdout);
    }

    [Fact]
    public async Task BadFiltersAndUnknownJobsSayWhatIsWrong()
    {
        using var user = await fleet.LoggedInUserAsync();
        var badStatus = await user.RunAsync("jobs", "ls", "--status", "DONE");
        Assert.Equal(2, badStatus.ExitCode);
        Assert.Contains("DONE", badStatus.Stderr);

        var badLimit = await user.RunAsync("jobs", "ls", "--limit", "0");
        Assert.Equal(2, badLimit.ExitCode);
        Assert.Contains("limit: must be between 1 and 1000", badLimit.Stderr);

        Assert.Equal(4, (await user.RunAsync("jobs", "show", "job-nope")).ExitCode);
        Assert.Equal(4, (await user.RunAsync("jobs", "logs", "job-nope")).ExitCode);
        Assert.Equal(4, (await user.RunAsync("jobs", "logs", "-f", "job-nope")).ExitCode);
    }
}
