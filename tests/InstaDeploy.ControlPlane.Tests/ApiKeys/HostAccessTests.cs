using System.Net;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Tests.ApiKeys;

/// <summary>
/// Host access per API key: a deploy key is created without it unless asked, and its deploys then follow the deploy
/// policy with INSTADEPLOY_POLICY off, on the control plane and, through the command, on the agent. Admin keys (the
/// bootstrap key included) have it.
/// </summary>
public sealed class HostAccessTests : IAsyncLifetime
{
    private readonly ControlPlaneFactory _controlPlane = new(new Dictionary<string, string?>
    {
        ["INSTADEPLOY_POLICY_BIND_ALLOW"] = "/srv/apps",
        ["INSTADEPLOY_POLICY_CAP_ADD_ALLOW"] = "net_admin",
    });
    private readonly SeedAgent _agent = new((_, _, _) => ("COMPLETED", "", ""));
    private HttpClient _admin = null!;

    private static string Base64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));

    private const string Privileged = "services:\n  web:\n    image: x\n    privileged: Yes\n";
    private const string Ordinary = "services:\n  web:\n    image: x\n    volumes: [\"./data:/d\", \"/srv/apps/web:/w\"]\n    cap_add: [NET_ADMIN]\n";

    public async Task InitializeAsync()
    {
        _admin = _controlPlane.CreateApiClient();
        await _agent.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, "vps-1", InstaDeploy.Contracts.HandshakeHeaders.FeatureProjectConfig);
        await _admin.WaitForAgentOnlineAsync("vps-1");
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _admin.Dispose();
        await _controlPlane.DisposeAsync();
    }

    private async Task<JsonElement> CreateKeyAsync(object body)
    {
        using var response = await _admin.PostJsonAsync("/api-keys", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private JsonElement LastCommandPayload() => _agent.ReceivedCommands[^1].GetProperty("payload");

    [Fact]
    public async Task ADeployKeyIsRestrictedUnlessCreatedWithHostAccessAndAdminKeysNeverAre()
    {
        Assert.False((await CreateKeyAsync(new { name = "ci", scopes = new[] { "deploy" } })).GetProperty("host_access").GetBoolean());
        Assert.True((await CreateKeyAsync(new { name = "ops", scopes = new[] { "deploy" }, host_access = true })).GetProperty("host_access").GetBoolean());
        Assert.True((await CreateKeyAsync(new { name = "root", scopes = new[] { "admin" }, host_access = false })).GetProperty("host_access").GetBoolean());
        var listed = (await _admin.GetJsonAsync("/api-keys")).EnumerateArray().ToDictionary(k => k.GetProperty("name").GetString()!, k => k.GetProperty("host_access").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["bootstrap-admin"] = true, ["ci"] = false, ["ops"] = true, ["root"] = true }, listed);
    }

    [Fact]
    public async Task ARestrictedKeysDeployIsCheckedAndTellsTheAgentToEnforceThePolicy()
    {
        using var restricted = _controlPlane.CreateApiClient((await CreateKeyAsync(new { name = "ci", scopes = new[] { "deploy" } })).GetProperty("key").GetString());
        using (var refused = await restricted.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = Base64(Privileged) }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            var detail = (await refused.ReadJsonAsync()).GetProperty("detail").GetString();
            Assert.Equal("compose_file_base64: the deploy policy refuses it: service 'web' sets privileged: Yes (this API key has no host access)", detail);
        }
        Assert.Empty(_agent.ReceivedCommands);

        using (var accepted = await restricted.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = Base64(Ordinary) }))
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        await Eventually.TrueAsync(() => Task.FromResult(_agent.ReceivedCommands.Count == 1), TimeSpan.FromSeconds(10), "the deploy to reach the agent");
        var policy = LastCommandPayload().GetProperty("policy");
        Assert.Equal(["/srv/apps"], policy.GetProperty("bind_allow").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["NET_ADMIN"], policy.GetProperty("cap_add_allow").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task AKeyWithHostAccessDeploysAsBeforeWithThePolicyOff()
    {
        using var trusted = _controlPlane.CreateApiClient((await CreateKeyAsync(new { name = "ops", scopes = new[] { "deploy" }, host_access = true })).GetProperty("key").GetString());
        using (var accepted = await trusted.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = Base64(Privileged) }))
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        await Eventually.TrueAsync(() => Task.FromResult(_agent.ReceivedCommands.Count == 1), TimeSpan.FromSeconds(10), "the deploy to reach the agent");
        Assert.False(LastCommandPayload().TryGetProperty("policy", out _));
    }

    [Fact]
    public async Task ARestrictedKeyCannotDeployToASeedProtocolAgent()
    {
        await using var seed = new SeedAgent((_, _, _) => ("COMPLETED", "", ""));
        await seed.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, "seed-1");
        await _admin.WaitForAgentOnlineAsync("seed-1");
        using var restricted = _controlPlane.CreateApiClient((await CreateKeyAsync(new { name = "ci", scopes = new[] { "deploy" } })).GetProperty("key").GetString());
        using var response = await restricted.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = Base64(Ordinary), agent_id = "seed-1" });
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("cannot enforce the deploy policy", (await response.ReadJsonAsync()).GetProperty("detail").GetString());
        Assert.Empty(seed.ReceivedCommands);
    }
}
