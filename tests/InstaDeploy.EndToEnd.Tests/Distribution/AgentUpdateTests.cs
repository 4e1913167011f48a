using System.Net;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests.Distribution;

/// <summary>
/// Agent self-update with real agent processes under their launcher: A updated to B through a rollout; a bundle signed
/// by a key the agent does not trust, or built for another architecture, refused while A runs on; a B that crashes at
/// start, or never connects, replaced by A again by the launcher, with the reason on the control plane.
/// </summary>
public sealed class AgentUpdateTests : IAsyncLifetime
{
    private readonly ProcessFleet _fleet = new();
    private readonly AgentInstall _install = new();
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        await _fleet.StartControlPlaneAsync(new Dictionary<string, string>
        {
            // The control plane trusts a second key the agents do not: what a stale or compromised control plane could hand on.
            ["INSTADEPLOY_RELEASE_PUBLIC_KEYS"] = _install.Operator.PublicPem + _install.Stranger.PublicPem,
            ["INSTADEPLOY_AGENT_UPDATE_CONFIRM_SECONDS"] = "20",
            ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000",
        });
        _api = _fleet.CreateApiClient();
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _fleet.DisposeAsync();
        _install.Dispose();
    }

    private async Task UploadAsync((string Path, string Signature) bundle)
    {
        using var response = await _api.UploadAsync("/agent-releases", bundle.Path, bundle.Signature);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Rolls <paramref name="version"/> out to the agents named and waits until the rollout has finished.</summary>
    private async Task<JsonElement> RollOutAsync(string version, params string[] agents)
    {
        using var created = await _api.PostJsonAsync($"/agent-releases/{version}/rollouts",
            new { targets = new { agent_ids = agents }, strategy = new { max_parallel = 2, on_failure = "continue" } });
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.ReadJsonAsync()).GetProperty("rollout_id").GetString();
        JsonElement rollout = default;
        await Eventually.TrueAsync(async () =>
        {
            rollout = await _api.GetJsonAsync($"/rollouts/{id}");
            return rollout.GetProperty("state").GetString() is "succeeded" or "failed";
        }, TimeSpan.FromSeconds(150), $"the rollout of {version} to finish");
        return rollout;
    }

    private async Task<string> VersionOfAsync(string agent) => (await _api.GetJsonAsync($"/agents/{agent}")).GetProperty("version").GetString()!;

    private async Task WaitOnlineAsAsync(string agent, string version) =>
        await Eventually.TrueAsync(async () =>
        {
            using var response = await _api.GetAsync($"/agents/{agent}");
            if (response.StatusCode == HttpStatusCode.NotFound) return false; // not connected yet, ever
            var row = await response.ReadJsonAsync();
            return row.GetProperty("online").GetBoolean() && row.GetProperty("version").GetString() == version;
        }, TimeSpan.FromSeconds(90), $"{agent} to be online running {version}");

    private static JsonElement Target(JsonElement rollout, string agent) =>
        rollout.GetProperty("targets").EnumerateArray().Single(t => t.GetProperty("agent_id").GetString() == agent);

    private static string CurrentOf(string home) => Path.GetFileName(new FileInfo(Path.Combine(home, "current")).LinkTarget!);

    [Fact]
    public async Task AnAgentIsUpdatedFromAToBThroughARolloutAndKeepsRunningJobs()
    {
        var (launcher, home) = await _install.InstallAndLaunchAsync(_fleet, "upd-1", "1.0.0-a");
        await WaitOnlineAsAsync("upd-1", "1.0.0-a");
        await UploadAsync(await _install.BundleAsync("1.0.0-b"));

        var rollout = await RollOutAsync("1.0.0-b", "upd-1");
        var target = Target(rollout, "upd-1");
        Assert.True(rollout.GetProperty("state").GetString() == "succeeded", rollout.GetRawText() + "\n" + launcher.Output);
        Assert.Equal("agent_update", rollout.GetProperty("action").GetString());
        var job = await _api.GetJsonAsync($"/jobs/{target.GetProperty("job_id").GetString()}");
        Assert.Equal("UPDATE_AGENT", job.GetProperty("type").GetString());
        Assert.Contains("Agent updated from 1.0.0-a to 1.0.0-b", job.GetProperty("logs").GetString());

        await WaitOnlineAsAsync("upd-1", "1.0.0-b");
        Assert.Equal("1.0.0-b", CurrentOf(home));
        Assert.False(launcher.HasExited);
        Assert.False(File.Exists(Path.Combine(home, "update.json")));
        // B runs commands: its plugins came with it.
        using var health = await _api.PostJsonAsync("/agents/upd-1/health", new { });
        Assert.Equal(HttpStatusCode.Accepted, health.StatusCode);
        var healthJob = await _api.WaitForJobAsync((await health.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        Assert.True(healthJob.GetProperty("status").GetString() == "COMPLETED", healthJob.GetRawText());
    }

    [Fact]
    public async Task ABundleSignedByAnUntrustedKeyOrForAnotherArchitectureIsRefusedWhileAKeepsRunning()
    {
        var (honestLauncher, honestHome) = await _install.InstallAndLaunchAsync(_fleet, "upd-honest", "1.0.0-a");
        // An agent that reports arm64 (a misconfigured AGENT_ARCHITECTURE): the control plane hands it the arm64 bundle.
        var (armLauncher, armHome) = await _install.InstallAndLaunchAsync(_fleet, "upd-claims-arm", "1.0.0-a", new() { ["AGENT_ARCHITECTURE"] = "linux-arm64" });
        await WaitOnlineAsAsync("upd-honest", "1.0.0-a");
        await WaitOnlineAsAsync("upd-claims-arm", "1.0.0-a");
        // Release 1.0.0-c: its amd64 bundle signed with the stranger's key (the control plane trusts it, the agents do not),
        // its arm64 bundle properly signed.
        await UploadAsync(await _install.BundleAsync("1.0.0-c", "linux-amd64", key: _install.Stranger));
        await UploadAsync(await _install.BundleAsync("1.0.0-c", "linux-arm64"));

        var rollout = await RollOutAsync("1.0.0-c", "upd-honest", "upd-claims-arm");
        Assert.Equal("failed", rollout.GetProperty("state").GetString());
        var badSignature = Target(rollout, "upd-honest").GetProperty("error").GetString();
        Assert.Contains("signature does not verify with AGENT_UPDATE_PUBLIC_KEY", badSignature);
        Assert.Contains("1.0.0-a keeps running", badSignature);
        var wrongArchitecture = Target(rollout, "upd-claims-arm").GetProperty("error").GetString();
        Assert.Contains("is for linux-arm64; this machine is linux-amd64", wrongArchitecture);

        foreach (var (agent, home, launcher) in new[] { ("upd-honest", honestHome, honestLauncher), ("upd-claims-arm", armHome, armLauncher) })
        {
            Assert.True((await _api.GetJsonAsync($"/agents/{agent}")).GetProperty("online").GetBoolean());
            Assert.Equal("1.0.0-a", await VersionOfAsync(agent));
            Assert.Equal("1.0.0-a", CurrentOf(home));
            Assert.False(Directory.Exists(Path.Combine(home, "versions", "1.0.0-c")));
            Assert.DoesNotContain("launcher: started agent 1.0.0-c", launcher.Output);
        }
    }

    [Fact]
    public async Task ABThatCrashesAtStartOrNeverConnectsIsReplacedByAAutomatically()
    {
        var (launcher, home) = await _install.InstallAndLaunchAsync(_fleet, "upd-2", "1.0.0-a");
        await WaitOnlineAsAsync("upd-2", "1.0.0-a");
        await UploadAsync(await _install.BundleAsync("1.0.0-crash", folder: TestBundles.ScriptAgentFolder(_install.Work, "crashing", "#!/bin/sh\necho 'cannot start' >&2\nexit 3\n")));
        await UploadAsync(await _install.BundleAsync("1.0.0-hang", folder: TestBundles.ScriptAgentFolder(_install.Work, "hanging", "#!/bin/sh\nexec sleep 600\n")));

        var crashed = await RollOutAsync("1.0.0-crash", "upd-2");
        Assert.Equal("failed", crashed.GetProperty("state").GetString());
        var why = Target(crashed, "upd-2").GetProperty("error").GetString();
        Assert.True(why!.Contains("version 1.0.0-crash exited with code 3", StringComparison.Ordinal) && why.Contains("started 1.0.0-a again", StringComparison.Ordinal), why + "\n" + launcher.Output);
        await WaitOnlineAsAsync("upd-2", "1.0.0-a");
        Assert.Equal("1.0.0-a", CurrentOf(home));

        var hung = await RollOutAsync("1.0.0-hang", "upd-2");
        Assert.Equal("failed", hung.GetProperty("state").GetString());
        why = Target(hung, "upd-2").GetProperty("error").GetString();
        Assert.True(why!.Contains("version 1.0.0-hang did not connect and pass its health check within 20 s", StringComparison.Ordinal), why + "\n" + launcher.Output);
        await WaitOnlineAsAsync("upd-2", "1.0.0-a");
        Assert.Equal("1.0.0-a", CurrentOf(home));
        Assert.False(launcher.HasExited);
    }
}
