using System.Net;
using System.Text.Json;
using InstaDeploy.Contracts.Bundles;

namespace InstaDeploy.EndToEnd.Tests.Distribution;

/// <summary>
/// One agent under its launcher through several updates, as an operator lives with it: a plugin installed from the
/// control plane keeps working after an update and after an automatic rollback; a command sent while an update waits
/// for a long job is not run by the version that is going away but by the new one; the agent shows how its last update
/// ended; and version folders no rollback needs any more are deleted.
/// </summary>
public sealed class UpdateLifecycleTests : IAsyncLifetime
{
    private readonly ProcessFleet _fleet = new();
    private readonly AgentInstall _install = new();
    private ServiceProcess _controlPlane = null!;
    private ServiceProcess? _launcher;
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        _controlPlane = await _fleet.StartControlPlaneAsync(new Dictionary<string, string>
        {
            ["INSTADEPLOY_RELEASE_PUBLIC_KEYS"] = _install.Operator.PublicPem,
            ["INSTADEPLOY_AGENT_UPDATE_CONFIRM_SECONDS"] = "30",
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

    private async Task UploadAsync(string path, (string Path, string Signature) bundle)
    {
        using var response = await _api.UploadAsync(path, bundle.Path, bundle.Signature);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    private async Task<string> StartRolloutAsync(string path)
    {
        using var created = await _api.PostJsonAsync(path, new { targets = new { agent_ids = new[] { Agent } }, strategy = new { max_parallel = 1, on_failure = "continue" } });
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        return (await created.ReadJsonAsync()).GetProperty("rollout_id").GetString()!;
    }

    private async Task<JsonElement> FinishedAsync(string rolloutId)
    {
        JsonElement rollout = default;
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                rollout = await _api.GetJsonAsync($"/rollouts/{rolloutId}");
                return rollout.GetProperty("state").GetString() is "succeeded" or "failed";
            }, TimeSpan.FromSeconds(180), $"rollout {rolloutId} to finish");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}: {rollout.GetRawText()}\nagent:\n{_launcher?.Output}\ncontrol plane:\n{_controlPlane.Output}", e);
        }
        return rollout;
    }

    private async Task<string> SendAsync(string type, object payload)
    {
        using var call = await _api.PostJsonAsync($"/agents/{Agent}/commands", new { type, payload });
        Assert.True(call.StatusCode == HttpStatusCode.Accepted, await call.Content.ReadAsStringAsync());
        return (await call.ReadJsonAsync()).GetProperty("job_id").GetString()!;
    }

    private async Task<string> StatusOfAsync(string jobId) => (await _api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString()!;

    /// <summary>The installed plugin runs on whatever version runs now.</summary>
    private async Task AssertPluginRunsAsync(string because)
    {
        var job = await _api.WaitForJobAsync(await SendAsync("SLOW", new { ms = 10 }));
        Assert.True(job.GetProperty("status").GetString() == "COMPLETED", $"{because}: {job.GetRawText()}");
    }

    private async Task WaitOnlineAsAsync(string version) =>
        await Eventually.TrueAsync(async () =>
        {
            using var response = await _api.GetAsync($"/agents/{Agent}");
            if (response.StatusCode == HttpStatusCode.NotFound) return false;
            var row = await response.ReadJsonAsync();
            return row.GetProperty("online").GetBoolean() && row.GetProperty("version").GetString() == version
                && row.GetProperty("command_types") is { ValueKind: JsonValueKind.Array } types && types.EnumerateArray().Any(t => t.GetString() == "SLOW");
        }, TimeSpan.FromSeconds(90), $"{Agent} to be online running {version} with the installed plugin");

    private async Task<JsonElement> LastUpdateAsync() => (await _api.GetJsonAsync($"/agents/{Agent}")).GetProperty("last_update");

    private const string Agent = "life-1";

    [Fact]
    public async Task InstalledPluginsSurviveUpdatesAndRollbacksCommandsSentDuringAnUpdateRunOnTheNewVersionAndOldVersionsGo()
    {
        var (launcher, home) = await _install.InstallAndLaunchAsync(_fleet, Agent, "1.0.0-a");
        _launcher = launcher;
        await Eventually.TrueAsync(async () => (await _api.GetAsync($"/agents/{Agent}")).IsSuccessStatusCode, TimeSpan.FromSeconds(90), "the agent to connect");

        // A plugin installed from the control plane: into <home>/plugins, not into the version's folder.
        var package = Path.Combine(_install.Work, "Misbehaving-1.0.0.tar.gz");
        var signature = await _install.Operator.PackAndSignAsync(Path.Combine(AppContext.BaseDirectory, "test-plugins", "Misbehaving"),
            new BundleManifest { Kind = "plugin", Name = "Misbehaving", Version = "1.0.0", Architecture = "any" }, package);
        await UploadAsync("/plugin-packages", (package, signature));
        var installed = await FinishedAsync(await StartRolloutAsync("/plugin-packages/Misbehaving/1.0.0/rollouts"));
        Assert.True(installed.GetProperty("state").GetString() == "succeeded", installed.GetRawText() + "\n" + launcher.Output);
        Assert.True(Directory.Exists(Path.Combine(home, "plugins", "Misbehaving")));
        Assert.False(Directory.Exists(Path.Combine(home, "versions", "1.0.0-a", "plugins", "Misbehaving")));
        await WaitOnlineAsAsync("1.0.0-a");
        await AssertPluginRunsAsync("on 1.0.0-a, where it was installed");

        await UploadAsync("/agent-releases", await _install.BundleAsync("1.0.0-b"));
        await UploadAsync("/agent-releases", await _install.BundleAsync("1.0.0-crash", folder: TestBundles.ScriptAgentFolder(_install.Work, "crashing", "#!/bin/sh\necho 'cannot start' >&2\nexit 3\n")));
        await UploadAsync("/agent-releases", await _install.BundleAsync("1.0.0-c"));

        // A long job holds the update A -> B back; a command sent meanwhile is not started by A.
        var longJob = await SendAsync("SLOW", new { ms = 40_000 });
        await Eventually.TrueAsync(() => Task.FromResult(launcher.Output.Contains($"Job {longJob}: running SLOW", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the long job to run");
        var toB = await StartRolloutAsync("/agent-releases/1.0.0-b/rollouts");
        await Eventually.TrueAsync(() => Task.FromResult(_controlPlane.Output.Contains($"Agent {Agent} is stopping", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the agent to stop taking commands once the update is unpacked");
        var sentDuringUpdate = await SendAsync("SLOW", new { ms = 10 });
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Contains(await StatusOfAsync(longJob), new[] { "SENT", "RUNNING" }); // still holding the update
        Assert.DoesNotContain("launcher: started agent 1.0.0-b", launcher.Output);
        Assert.NotEqual("COMPLETED", await StatusOfAsync(sentDuringUpdate));
        Assert.DoesNotContain($"Job {sentDuringUpdate}: running", launcher.Output);

        var updated = await FinishedAsync(toB);
        Assert.True(updated.GetProperty("state").GetString() == "succeeded", updated.GetRawText() + "\n" + launcher.Output);
        Assert.Equal("COMPLETED", (await _api.WaitForJobAsync(longJob)).GetProperty("status").GetString());
        var held = await _api.WaitForJobAsync(sentDuringUpdate, TimeSpan.FromSeconds(60));
        Assert.True(held.GetProperty("status").GetString() == "COMPLETED", held.GetRawText());
        // B ran it: it started only after the launcher had started B.
        var output = launcher.Output;
        var bStarted = output.IndexOf("launcher: started agent 1.0.0-b", StringComparison.Ordinal);
        var ran = output.IndexOf($"Job {sentDuringUpdate}: running SLOW", StringComparison.Ordinal);
        Assert.True(bStarted >= 0 && ran > bStarted, $"the command sent during the update ran at {ran}, B started at {bStarted}:\n{output}");
        await WaitOnlineAsAsync("1.0.0-b");
        await AssertPluginRunsAsync("after the update to 1.0.0-b");
        var lastUpdate = await LastUpdateAsync();
        Assert.Equal("updated", lastUpdate.GetProperty("outcome").GetString());
        Assert.Equal("1.0.0-b", lastUpdate.GetProperty("version").GetString());
        Assert.Equal("1.0.0-a", lastUpdate.GetProperty("previous_version").GetString());

        // A release that crashes at start: rolled back to B by the launcher, the reason on the target and on the agent.
        var crashed = await FinishedAsync(await StartRolloutAsync("/agent-releases/1.0.0-crash/rollouts"));
        Assert.Equal("failed", crashed.GetProperty("state").GetString());
        var targetError = crashed.GetProperty("targets")[0].GetProperty("error").GetString()!;
        Assert.Contains("version 1.0.0-crash exited with code 3", targetError);
        lastUpdate = await LastUpdateAsync();
        Assert.Equal("rolled_back", lastUpdate.GetProperty("outcome").GetString());
        Assert.Equal("1.0.0-crash", lastUpdate.GetProperty("version").GetString());
        Assert.Equal("1.0.0-b", lastUpdate.GetProperty("previous_version").GetString());
        Assert.Contains("version 1.0.0-crash exited with code 3", lastUpdate.GetProperty("reason").GetString());
        Assert.Contains("the launcher started 1.0.0-b again", lastUpdate.GetProperty("reason").GetString());
        await WaitOnlineAsAsync("1.0.0-b");
        await AssertPluginRunsAsync("after the rollback to 1.0.0-b");

        // B -> C: once C has confirmed, the crashed version goes; C, B (for a rollback) and A (the launcher runs from it) stay.
        var toC = await FinishedAsync(await StartRolloutAsync("/agent-releases/1.0.0-c/rollouts"));
        Assert.True(toC.GetProperty("state").GetString() == "succeeded", toC.GetRawText() + "\n" + launcher.Output);
        await WaitOnlineAsAsync("1.0.0-c");
        await AssertPluginRunsAsync("after the update to 1.0.0-c");
        await Eventually.TrueAsync(() => Task.FromResult(!Directory.Exists(Path.Combine(home, "versions", "1.0.0-crash"))), TimeSpan.FromSeconds(10), "the crashed version's folder to go");
        Assert.Equal(["1.0.0-a", "1.0.0-b", "1.0.0-c"], Directory.GetDirectories(Path.Combine(home, "versions")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("launcher: deleted version 1.0.0-crash", launcher.Output);
        Assert.Equal("updated", (await LastUpdateAsync()).GetProperty("outcome").GetString());
        Assert.False(launcher.HasExited);
    }
}
