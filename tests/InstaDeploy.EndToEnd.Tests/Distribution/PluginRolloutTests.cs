using System.Net;
using System.Text.Json;
using InstaDeploy.Contracts.Bundles;

namespace InstaDeploy.EndToEnd.Tests.Distribution;

/// <summary>A signed plugin package rolled out by selector to two of three real agents: they load it live and run its
/// command over REST, the third does not have it; removed by the same selector, it is gone from both.</summary>
public sealed class PluginRolloutTests : IAsyncLifetime
{
    private readonly ProcessFleet _fleet = new();
    private readonly TestReleaseKey _key = new();
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        await _fleet.StartControlPlaneAsync(new Dictionary<string, string>
        {
            ["INSTADEPLOY_RELEASE_PUBLIC_KEYS"] = _key.PublicPem,
            ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000",
        });
        _api = _fleet.CreateApiClient();
        foreach (var (agent, role) in new[] { ("plug-web-1", "web"), ("plug-web-2", "web"), ("plug-db-1", "db") })
        {
            var plugins = Path.Combine(_fleet.Root, agent, "plugins");
            foreach (var builtIn in Directory.GetDirectories(Path.Combine(AppContext.BaseDirectory, "plugins")))
                CopyFolder(builtIn, Path.Combine(plugins, Path.GetFileName(builtIn)));
            _fleet.StartAgent(agent, settings: new Dictionary<string, string>
            {
                ["AGENT_PLUGINS_DIR"] = plugins, ["AGENT_LABELS"] = $"role={role}", ["AGENT_UPDATE_PUBLIC_KEY"] = _key.PublicPem,
            });
        }
        foreach (var agent in new[] { "plug-web-1", "plug-web-2", "plug-db-1" })
            await Eventually.TrueAsync(async () => (await _api.GetAsync($"/agents/{agent}")).IsSuccessStatusCode && (await CommandTypesAsync(agent)).Contains("DEPLOY_COMPOSE"),
                TimeSpan.FromSeconds(90), $"{agent} to connect with its plugins");
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _fleet.DisposeAsync();
        _key.Dispose();
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
    }

    private async Task<string[]> CommandTypesAsync(string agent) =>
        (await _api.GetJsonAsync($"/agents/{agent}")).GetProperty("command_types") is { ValueKind: JsonValueKind.Array } types
            ? [.. types.EnumerateArray().Select(t => t.GetString()!)]
            : []; // not reported yet

    private async Task<JsonElement> FinishedRolloutAsync(HttpResponseMessage created)
    {
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.ReadJsonAsync()).GetProperty("rollout_id").GetString();
        JsonElement rollout = default;
        await Eventually.TrueAsync(async () =>
        {
            rollout = await _api.GetJsonAsync($"/rollouts/{id}");
            return rollout.GetProperty("state").GetString() is "succeeded" or "failed";
        }, TimeSpan.FromSeconds(90), "the plugin rollout to finish");
        return rollout;
    }

    [Fact]
    public async Task APluginRolledOutToTwoOfThreeAgentsBySelectorRunsOnThoseTwoOnly()
    {
        var package = Path.Combine(_fleet.Root, "RestartCompose-1.0.0.tar.gz");
        var signature = await _key.PackAndSignAsync(Path.Combine(AppContext.BaseDirectory, "test-plugins", "RestartCompose"),
            new BundleManifest { Kind = "plugin", Name = "RestartCompose", Version = "1.0.0", Architecture = "any" }, package);
        using (var uploaded = await _api.UploadAsync("/plugin-packages", package, signature))
            Assert.True(uploaded.StatusCode == HttpStatusCode.Created, await uploaded.Content.ReadAsStringAsync());

        using (var created = await _api.PostJsonAsync("/plugin-packages/RestartCompose/1.0.0/rollouts", new { targets = new { selector = "role=web" }, strategy = new { max_parallel = 2 } }))
        {
            var rollout = await FinishedRolloutAsync(created);
            Assert.True(rollout.GetProperty("state").GetString() == "succeeded", rollout.GetRawText());
            Assert.Equal(["plug-web-1", "plug-web-2"], rollout.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("agent_id").GetString()));
        }

        var project = E2E.Project("plugin-rollout");
        foreach (var agent in new[] { "plug-web-1", "plug-web-2" })
        {
            Assert.Contains("RESTART_COMPOSE", await CommandTypesAsync(agent));
            using var call = await _api.PostJsonAsync($"/agents/{agent}/commands", new { type = "RESTART_COMPOSE", payload = new { project_name = project } });
            Assert.Equal(HttpStatusCode.Accepted, call.StatusCode);
            var job = await _api.WaitForJobAsync((await call.ReadJsonAsync()).GetProperty("job_id").GetString()!);
            // The plugin's own answer (the project was never deployed there): it ran.
            Assert.Contains($"project '{project}' is not deployed on this agent", job.GetProperty("error").GetString());
        }
        Assert.DoesNotContain("RESTART_COMPOSE", await CommandTypesAsync("plug-db-1"));
        using (var refused = await _api.PostJsonAsync("/agents/plug-db-1/commands", new { type = "RESTART_COMPOSE", payload = new { project_name = project } }))
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);

        using (var removal = await _api.PostJsonAsync("/plugin-packages/RestartCompose/removals", new { targets = new { selector = "role=web" }, strategy = new { max_parallel = 2 } }))
            Assert.Equal("succeeded", (await FinishedRolloutAsync(removal)).GetProperty("state").GetString());
        foreach (var agent in new[] { "plug-web-1", "plug-web-2" })
        {
            await Eventually.TrueAsync(async () => !(await CommandTypesAsync(agent)).Contains("RESTART_COMPOSE"), TimeSpan.FromSeconds(15), $"RESTART_COMPOSE to be gone from {agent}");
            Assert.False(Directory.Exists(Path.Combine(_fleet.Root, agent, "plugins", "RestartCompose")));
            Assert.Contains("DEPLOY_COMPOSE", await CommandTypesAsync(agent));
        }
    }
}
