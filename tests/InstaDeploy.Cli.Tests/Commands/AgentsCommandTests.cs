using System.Text.Json;

namespace InstaDeploy.Cli.Tests.Commands;

/// <summary>agents ls|show|health|run|revoke in-process against the real control plane and agent.</summary>
[Collection(CliCollection.Name)]
public sealed class AgentsCommandTests(CliFixture fleet)
{
    [Fact]
    public async Task ListShowsTheAgentOnlineAsATableAsTheApiJsonAndAsIds()
    {
        using var user = await fleet.LoggedInUserAsync();

        var table = await user.RunAsync("agents", "ls");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Matches(@"ID\s+ONLINE\s+VERSION\s+ARCHITECTURE\s+LAST SEEN", table.Stdout);
        Assert.Matches($@"{CliFixture.AgentId}\s+online\s+1\.0\.0\s+linux-", table.Stdout);
        Assert.DoesNotContain("\u001b[", table.Stdout);

        var json = CliFixture.Json((await user.RunAsync("agents", "ls", "-o", "json")).Stdout);
        var api = await fleet.Api.GetJsonAsync("/agents");
        Assert.Equal(JsonValueKind.Array, json.ValueKind);
        Assert.Equal(api.GetArrayLength(), json.GetArrayLength());
        Assert.Equal(CliFixture.Shape(api[0]), CliFixture.Shape(json[0]));
        Assert.Equal(CliFixture.AgentId, json[0].GetProperty("id").GetString());
        Assert.True(json[0].GetProperty("online").GetBoolean());

        Assert.Equal(CliFixture.AgentId + "\n", (await user.RunAsync("agents", "ls", "--quiet")).Stdout);
    }

    [Fact]
    public async Task ShowGivesTheAgentAndItsPluginsAndAnUnknownAgentIsNotFound()
    {
        using var user = await fleet.LoggedInUserAsync();
        var shown = await user.RunAsync("agents", "show", CliFixture.AgentId);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains("DEPLOY_COMPOSE", shown.Stdout);
        Assert.Matches(@"PLUGIN\s+VERSION\s+COMMAND TYPES", shown.Stdout);

        var json = CliFixture.Json((await user.RunAsync("agents", "show", CliFixture.AgentId, "-o", "json")).Stdout);
        Assert.Equal(CliFixture.Shape(await fleet.Api.GetJsonAsync($"/agents/{CliFixture.AgentId}")), CliFixture.Shape(json));

        var missing = await user.RunAsync("agents", "show", "no-such-agent");
        Assert.Equal(4, missing.ExitCode);
        Assert.Equal("", missing.Stdout);
        var line = Assert.Single(missing.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("error: Unknown agent (404): No agent 'no-such-agent' has ever connected. GET /agents lists the known agents.", line);
    }

    [Fact]
    public async Task HealthRunsTheCheckOnTheAgentAndPrintsItsReport()
    {
        using var user = await fleet.LoggedInUserAsync();
        var health = await user.RunAsync("agents", "health", CliFixture.AgentId);
        Assert.True(health.ExitCode == 0, health.ToString());
        Assert.Matches(@"docker: engine \S+", health.Stdout);
        Assert.Contains("compose: ", health.Stdout);
        Assert.Matches(@"Job job-\S+ COMPLETED", health.Stderr);

        var json = CliFixture.Json((await user.RunAsync("agents", "health", CliFixture.AgentId, "-o", "json")).Stdout);
        Assert.Equal("HEALTH_CHECK", json.GetProperty("type").GetString());
        Assert.True(json.GetProperty("result").GetProperty("healthy").GetBoolean());

        Assert.Equal(4, (await user.RunAsync("agents", "health", "no-such-agent")).ExitCode);
    }

    [Fact]
    public async Task RunRefusesATypeTheAgentLacksWithTheTypesItHas()
    {
        using var user = await fleet.LoggedInUserAsync();
        var result = await user.RunAsync("agents", "run", CliFixture.AgentId, "NO_SUCH_TYPE");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("it runs: ", result.Stderr);
        Assert.Contains("DEPLOY_COMPOSE", result.Stderr);

        var badPayload = await user.RunAsync("agents", "run", CliFixture.AgentId, "STATUS", "--payload", "{not json");
        Assert.Equal(2, badPayload.ExitCode);
        Assert.Contains("--payload is not JSON", badPayload.Stderr);

        var status = await user.RunAsync("agents", "run", CliFixture.AgentId, "STATUS", "--payload", """{"project_name":"nothing-here"}""", "--wait", "-o", "json");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Equal("COMPLETED", CliFixture.Json(status.Stdout).GetProperty("status").GetString());
    }

    [Fact]
    public async Task RevokingNeedsAnAdminKeyAndAnUnknownAgentIsNotFound()
    {
        var (_, readKey) = await fleet.CreateKeyAsync("cli-read", "read");
        using var user = new CliUser();
        await user.LogInAsync("reader", fleet.Url, readKey);

        var forbidden = await user.RunAsync("agents", "revoke", CliFixture.AgentId);
        Assert.Equal(3, forbidden.ExitCode);
        Assert.Contains("Forbidden (403)", forbidden.Stderr);
        Assert.Contains("lacks the 'admin' scope", forbidden.Stderr);

        using var admin = await fleet.LoggedInUserAsync();
        Assert.Equal(4, (await admin.RunAsync("agents", "revoke", "no-such-agent")).ExitCode);
    }
}
