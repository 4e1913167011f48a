using System.Net;
using System.Net.Http.Json;

namespace InstaDeploy.ControlPlane.Tests.Rollouts;

/// <summary>Labels from the handshake and from admins; selectors on /agents, /stop and /status; what a bad rollout
/// request answers.</summary>
public sealed class LabelsAndValidationTests : IAsyncLifetime
{
    private readonly ControlPlaneFactory _controlPlane = new(new Dictionary<string, string?> { ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000" });
    private SimulatedFleet _fleet = null!;
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        _api = _controlPlane.CreateApiClient();
        _fleet = new SimulatedFleet(_controlPlane.WebSocketUrl, _controlPlane.AgentToken);
        _fleet.Start("eu-1", "role=web,region=eu");
        _fleet.Start("us-1", "role=web,region=us");
        _fleet.Start("db-1", "role=db,region=eu");
        _fleet.Start("bad-1", "role=web,bad key=x");
        await _fleet.WaitConnectedAsync(4, TimeSpan.FromSeconds(30));
        foreach (var agent in new[] { "eu-1", "us-1", "db-1", "bad-1" }) await _api.WaitForAgentOnlineAsync(agent);
    }

    public async Task DisposeAsync()
    {
        await _fleet.DisposeAsync();
        _api.Dispose();
        await _controlPlane.DisposeAsync();
    }

    private async Task<string[]> SelectAsync(string selector) =>
        [.. (await _api.GetJsonAsync("/agents?selector=" + Uri.EscapeDataString(selector))).EnumerateArray().Select(a => a.GetProperty("id").GetString()!)];

    [Fact]
    public async Task AnnouncedLabelsAreSelectableAndAnAdminOverrideWins()
    {
        Assert.Equal(["eu-1", "us-1"], await SelectAsync("role=web"));
        Assert.Equal(["db-1", "eu-1", "us-1"], await SelectAsync("region in (eu,us)"));
        Assert.Equal(["bad-1", "us-1"], await SelectAsync("region!=eu"));
        Assert.Equal(["bad-1"], await SelectAsync("!region"));
        // Invalid labels are not stored, and the agent is still connected.
        var bad = await _api.GetJsonAsync("/agents/bad-1");
        Assert.True(bad.GetProperty("online").GetBoolean());
        Assert.Empty(bad.GetProperty("labels").EnumerateObject());
        Assert.Contains(_controlPlane.Logs.Lines, m => m.Contains("bad-1 announced labels that are not valid", StringComparison.Ordinal));

        using (var set = await _api.PutAsJsonAsync("/agents/eu-1/labels", new { labels = new Dictionary<string, string?> { ["role"] = "canary", ["region"] = null } }, InstaDeploy.Testing.Api.Json))
        {
            var agent = await set.ReadJsonAsync();
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
            Assert.Equal("canary", agent.GetProperty("labels").GetProperty("role").GetString());
            Assert.False(agent.GetProperty("labels").TryGetProperty("region", out _));
            Assert.Equal("eu", agent.GetProperty("announced_labels").GetProperty("region").GetString());
        }
        Assert.Equal(["eu-1"], await SelectAsync("role=canary"));

        // The override outlives a reconnect that announces the old labels again.
        await _fleet.StopAgentAsync("eu-1");
        _fleet.Start("eu-1", "role=web,region=eu");
        await _fleet.WaitConnectedAsync(4, TimeSpan.FromSeconds(30));
        Assert.Equal(["us-1"], await SelectAsync("role=web"));

        using (var clear = await _api.DeleteAsync("/agents/eu-1/labels"))
            Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
        Assert.Equal(["eu-1", "us-1"], await SelectAsync("role=web"));

        using var invalid = await _api.PutAsJsonAsync("/agents/eu-1/labels", new { labels = new Dictionary<string, string?> { ["no spaces"] = "x" } }, InstaDeploy.Testing.Api.Json);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        using var reader = _controlPlane.CreateApiClient(null);
        using var unauthorized = await reader.PutAsJsonAsync("/agents/eu-1/labels", new { labels = new Dictionary<string, string?>() }, InstaDeploy.Testing.Api.Json);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
    }

    [Theory]
    [InlineData("region in (eu", "selector: at position 14 (the end): expected ',' or ')' in the list of values")]
    [InlineData("role=", "selector: at position 6 (the end): expected a value for 'role'")]
    public async Task AMalformedSelectorIsA400NamingThePosition(string selector, string detail)
    {
        using var response = await _api.GetAsync("/agents?selector=" + Uri.EscapeDataString(selector));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(detail, (await response.ReadJsonAsync()).GetProperty("detail").GetString());

        using var stop = await _api.PostJsonAsync("/stop", new { project_name = "p", selector });
        Assert.Equal(HttpStatusCode.BadRequest, stop.StatusCode);
        using var rollout = await _api.PostJsonAsync("/rollouts", new { project_name = "p", compose_file_base64 = SimulatedFleetFixture.Compose("x"), targets = new { selector } });
        Assert.Equal("targets." + detail, (await rollout.ReadJsonAsync()).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{"project_name":"p","compose_file_base64":"COMPOSE","targets":{}}""", "targets: is required, with exactly one of selector")]
    [InlineData("""{"project_name":"p","compose_file_base64":"COMPOSE","targets":{"selector":"role=web","agent_ids":["eu-1"]}}""", "targets: is required, with exactly one of selector")]
    [InlineData("""{"project_name":"p","compose_file_base64":"COMPOSE","targets":{"agent_ids":["eu-1","eu-1"]}}""", "targets.agent_ids: names 'eu-1' twice")]
    [InlineData("""{"project_name":"p","compose_file_base64":"COMPOSE","targets":{"agent_ids":["nobody"]}}""", "No agent 'nobody' has ever connected.")]
    [InlineData("""{"project_name":"p","compose_file_base64":"COMPOSE","targets":{"selector":"role=none"}}""", "matches none of the 4 known agents")]
    [InlineData("""{"project_name":"p","compose_file_base64":"COMPOSE","targets":{"selector":"role=web"},"strategy":{"max_parallel":"150%"}}""", "strategy.max_parallel: '150%' is not a percentage between 0 and 100")]
    [InlineData("""{"project_name":"p","compose_file_base64":"COMPOSE","targets":{"selector":"role=web"},"strategy":{"max_parallel":0}}""", "strategy.max_parallel: '0' is not valid")]
    [InlineData("""{"project_name":"p","compose_file_base64":"COMPOSE","targets":{"selector":"role=web"},"strategy":{"canary":2}}""", "strategy.canary: is 2: canaries must be fewer than the 2 targets")]
    [InlineData("""{"project_name":"p","compose_file_base64":"COMPOSE","targets":{"selector":"role=web"},"strategy":{"on_failure":"explode"}}""", "strategy.on_failure: must be pause, continue or rollback")]
    [InlineData("""{"project_name":"p","compose_file_base64":"COMPOSE","targets":{"selector":"role=web"},"strategy":{"offline":"later"}}""", "strategy.offline: must be wait")]
    [InlineData("""{"project_name":"p","compose_file_base64":"COMPOSE","targets":{"selector":"role=web"},"rollback_to":"newest_common"}""", "rollback_to: and compose_file_base64 exclude each other")]
    [InlineData("""{"project_name":"p","targets":{"selector":"role=web"},"rollback_to":"yesterday"}""", "rollback_to: must be \"newest_common\" or a revision number")]
    [InlineData("""{"project_name":"p","targets":{"selector":"role=web"},"rollback_to":"newest_common"}""", "never succeeded on 'eu-1', 'us-1'")]
    [InlineData("""{"project_name":"p","targets":{"selector":"role=web"}}""", "compose_file_base64: is required")]
    public async Task ABadRolloutRequestSaysWhatIsWrongAndCreatesNothing(string body, string detail)
    {
        body = body.Replace("COMPOSE", SimulatedFleetFixture.Compose("x"), StringComparison.Ordinal);
        using var response = await _api.PostAsync("/rollouts", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.InRange((int)response.StatusCode, 400, 409);
        Assert.Contains(detail, (await response.ReadJsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(0, (await _api.GetJsonAsync("/rollouts")).GetArrayLength());
    }

    [Fact]
    public async Task StopAndStatusWithASelectorReachEverySelectedAgentThatRunsTheProject()
    {
        var created = await _api.PostJsonAsync("/rollouts", new { project_name = "fan", compose_file_base64 = SimulatedFleetFixture.Compose("x"), targets = new { agent_ids = new[] { "eu-1", "us-1", "db-1" } }, strategy = new { max_parallel = 3 } });
        var id = (await created.ReadJsonAsync()).GetProperty("rollout_id").GetString()!;
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync($"/rollouts/{id}")).GetProperty("state").GetString() == "succeeded", TimeSpan.FromSeconds(30), "the rollout to succeed");
        Assert.Equal(["db-1", "eu-1", "us-1"], (await _api.GetJsonAsync("/deployments/fan")).GetProperty("placements").EnumerateArray().Select(p => p.GetProperty("agent_id").GetString()));

        using var status = await _api.PostJsonAsync("/status", new { project_name = "fan", selector = "role=web" });
        Assert.Equal(HttpStatusCode.Accepted, status.StatusCode);
        var answer = await status.ReadJsonAsync();
        Assert.Equal(["eu-1", "us-1"], answer.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("agent_id").GetString()));
        // 202 says the jobs are stored and on their way; the agents read them a moment later.
        await Eventually.TrueAsync(() => Task.FromResult(new[] { "eu-1", "us-1" }.All(a => _fleet.Received[a].Last().Type == "STATUS")), TimeSpan.FromSeconds(10), "both web agents to get the STATUS");

        using var stop = await _api.PostJsonAsync("/stop", new { project_name = "fan", selector = "region=eu" });
        Assert.Equal(["db-1", "eu-1"], (await stop.ReadJsonAsync()).GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("agent_id").GetString()));
        using var both = await _api.PostJsonAsync("/stop", new { project_name = "fan", selector = "region=eu", agent_id = "eu-1" });
        Assert.Equal(HttpStatusCode.BadRequest, both.StatusCode);
    }
}
