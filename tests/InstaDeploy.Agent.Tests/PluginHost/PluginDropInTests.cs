using System.Runtime.CompilerServices;
using InstaDeploy.Agent.PluginHost;
using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.Agent.Tests.PluginHost;

/// <summary>
/// Plugins dropped onto, replaced in and removed from a running agent's plugins folder, driven through the wire
/// protocol by a seed-README server, as an operator and a control plane would.
/// </summary>
public sealed class PluginDropInTests : IAsyncLifetime
{
    private const string Token = "plugin-drop-in-token";
    private static readonly string BuiltPlugins = Path.Combine(AppContext.BaseDirectory, "test-plugins");
    private readonly string _plugins = Directory.CreateTempSubdirectory("instadeploy-dropin-").FullName;
    private SeedServer _server = null!;
    private TestAgent _agent = null!;
    private int _jobs;

    public async Task InitializeAsync()
    {
        _server = await SeedServer.StartAsync(Token);
        _agent = await TestAgent.StartAsync(_server.Url, Token, "dropin-host", new Dictionary<string, string?>
        {
            ["AGENT_PLUGINS_DIR"] = _plugins,
            ["AGENT_JOB_GRACE_SECONDS"] = "1",
        });
        await _server.AgentConnected.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        await _server.DisposeAsync();
        try { Directory.Delete(_plugins, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private PluginCatalog Catalog => _agent.Services.GetRequiredService<PluginCatalog>();

    private void Drop(string name, string from = "")
    {
        var source = Path.Combine(BuiltPlugins, from, name);
        var target = Path.Combine(_plugins, name);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
    }

    private Task WaitForTypeAsync(string type, bool present = true) =>
        Eventually.TrueAsync(() => Catalog.CommandTypes.Contains(type) == present, TimeSpan.FromSeconds(10),
            $"{type} to be {(present ? "available" : "gone")}");

    private async Task<System.Text.Json.JsonElement> RunAsync(string type, string payload = "{}", int? timeoutSeconds = null)
    {
        var id = $"job-{Interlocked.Increment(ref _jobs)}";
        var extra = timeoutSeconds is { } t ? $",\"timeout_seconds\":{t}" : "";
        await _server.SendRawAsync($"{{\"id\":\"{id}\",\"type\":\"{type}\",\"payload\":{payload}{extra}}}");
        return await _server.WaitForFinalAsync(id, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ADroppedPluginFolderRunsItsCommandWithinSecondsWithoutARestart()
    {
        var before = await RunAsync("JSON_NEW");
        Assert.Equal("FAILED", before.GetProperty("status").GetString());
        Assert.Contains("unknown command type 'JSON_NEW'", before.GetProperty("error").GetString());

        var dropped = DateTime.UtcNow;
        Drop("JsonNew");
        await WaitForTypeAsync("JSON_NEW");
        Assert.True(DateTime.UtcNow - dropped < TimeSpan.FromSeconds(10));

        var after = await RunAsync("JSON_NEW");
        Assert.Equal("COMPLETED", after.GetProperty("status").GetString());
        Assert.Contains("\"newtonsoft\":\"13.0.0.0\"", after.GetProperty("logs").GetString());
        Assert.Contains(_agent.Logs.Lines, l => l.Contains("Loaded plugin JsonNew"));
    }

    [Fact]
    public async Task TwoPluginsUseTheirOwnVersionsOfOneLibrary()
    {
        Drop("JsonOld");
        Drop("JsonNew");
        await WaitForTypeAsync("JSON_OLD");
        await WaitForTypeAsync("JSON_NEW");

        Assert.Contains("\"newtonsoft\":\"12.0.0.0\"", (await RunAsync("JSON_OLD")).GetProperty("logs").GetString());
        Assert.Contains("\"newtonsoft\":\"13.0.0.0\"", (await RunAsync("JSON_NEW")).GetProperty("logs").GetString());
        Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name == "Newtonsoft.Json"
            && System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(a) == System.Runtime.Loader.AssemblyLoadContext.Default);
    }

    [Fact]
    public async Task ReplacingTheDllReloadsThePluginAndARunningJobFinishesOnItsOldVersion()
    {
        Drop("Versioned", "v1");
        await WaitForTypeAsync("VERSIONED");
        Assert.Contains("Versioned 1.0.0", (await RunAsync("VERSIONED")).GetProperty("logs").GetString());

        // A job on version 1 that is still running when version 2 is copied over it.
        await _server.SendRawAsync("""{"id":"long-job","type":"VERSIONED","payload":{"ms":4000}}""");
        await Task.Delay(300);
        Drop("Versioned", "v2");
        await Eventually.TrueAsync(() => Catalog.Plugins.Any(p => p.Name == "Versioned" && p.Version == "2.0.0"), TimeSpan.FromSeconds(10), "version 2");

        Assert.Contains("Versioned 2.0.0", (await RunAsync("VERSIONED")).GetProperty("logs").GetString());
        var longJob = await _server.WaitForFinalAsync("long-job", TimeSpan.FromSeconds(30));
        Assert.Equal("COMPLETED", longJob.GetProperty("status").GetString());
        Assert.Contains("Versioned 1.0.0", longJob.GetProperty("logs").GetString());
        Assert.Contains(_agent.Logs.Lines, l => l.Contains("Reloaded plugin Versioned 2.0.0"));
    }

    [Fact]
    public async Task DeletingThePluginFolderUnloadsItAndFreesItsLoadContext()
    {
        Drop("Versioned", "v1");
        await WaitForTypeAsync("VERSIONED");
        Assert.Equal("COMPLETED", (await RunAsync("VERSIONED")).GetProperty("status").GetString());
        var context = WeakContextOf("Versioned");

        Directory.Delete(Path.Combine(_plugins, "Versioned"), recursive: true);
        await WaitForTypeAsync("VERSIONED", present: false);
        var after = await RunAsync("VERSIONED");
        Assert.Equal("FAILED", after.GetProperty("status").GetString());

        await Eventually.TrueAsync(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return !context.IsAlive;
        }, TimeSpan.FromSeconds(20), "the unloaded plugin's load context to be collected");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private WeakReference WeakContextOf(string plugin) => new(Catalog.Find(plugin)!.LoadContext);

    [Fact]
    public async Task AHalfCopiedPluginNeverCrashesTheAgentAndLoadsOnceComplete()
    {
        var source = Path.Combine(BuiltPlugins, "JsonNew");
        var target = Directory.CreateDirectory(Path.Combine(_plugins, "JsonNew")).FullName;
        var dll = await File.ReadAllBytesAsync(Path.Combine(source, "JsonNew.dll"));
        await File.WriteAllBytesAsync(Path.Combine(target, "JsonNew.dll"), dll[..(dll.Length / 2)]);
        await Eventually.TrueAsync(() => _agent.Logs.Lines.Any(l => l.Contains("Plugin JsonNew was not loaded")), TimeSpan.FromSeconds(10), "the refusal of the half-copied plugin");
        Assert.DoesNotContain("JSON_NEW", Catalog.CommandTypes);

        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        await WaitForTypeAsync("JSON_NEW");
        Assert.Equal("COMPLETED", (await RunAsync("JSON_NEW")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task APluginThatThrowsFailsItsJobAndTheAgentAndOtherPluginsKeepWorking()
    {
        Drop("Misbehaving");
        Drop("JsonNew");
        await WaitForTypeAsync("THROW");
        await WaitForTypeAsync("JSON_NEW");

        var thrown = await RunAsync("THROW");
        Assert.Equal("FAILED", thrown.GetProperty("status").GetString());
        Assert.Equal("plugin Misbehaving failed: InvalidOperationException: boom from a plugin", thrown.GetProperty("error").GetString());
        Assert.Equal("COMPLETED", (await RunAsync("JSON_NEW")).GetProperty("status").GetString());
        Assert.Equal("COMPLETED", (await RunAsync("SLOW", """{"ms":10}""")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task APluginThatHangsPastItsTimeoutFailsItsJobAndDoesNotBlockTheAgent()
    {
        Drop("Misbehaving");
        await WaitForTypeAsync("HANG");
        var started = DateTime.UtcNow;
        var hung = await RunAsync("HANG", timeoutSeconds: 1);
        Assert.Equal("FAILED", hung.GetProperty("status").GetString());
        Assert.Contains("time limit of 1 s", hung.GetProperty("error").GetString());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "the job ends at its limit plus the grace period");

        var slow = await RunAsync("SLOW", """{"ms":5000}""", timeoutSeconds: 1);
        Assert.Contains("time limit of 1 s", slow.GetProperty("error").GetString());
        Assert.Equal("COMPLETED", (await RunAsync("SLOW", """{"ms":10}""")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task APluginBuiltForAnotherSdkMajorVersionIsRefusedSayingWhy()
    {
        Drop("FutureSdkPlugin");
        await Eventually.TrueAsync(() => _agent.Logs.Lines.Any(l => l.Contains("Plugin FutureSdkPlugin was not loaded")), TimeSpan.FromSeconds(10), "the refusal");
        var refusal = _agent.Logs.Lines.First(l => l.Contains("Plugin FutureSdkPlugin was not loaded"));
        Assert.Contains("built against plugin SDK 2.0.0.0", refusal);
        Assert.Contains("rebuild the plugin against InstaDeploy.Agent.Plugins.Sdk 1.x", refusal);
        Assert.Equal("FAILED", (await RunAsync("FUTURE")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task TwoPluginsClaimingOneCommandTypeResolveByFolderNameWithAClearMessage()
    {
        Drop("ZzConflicting");
        foreach (var builtIn in new[] { "InstaDeploy.Agent.Plugins.Compose" })
        {
            var target = Directory.CreateDirectory(Path.Combine(_plugins, builtIn)).FullName;
            foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "plugins", builtIn)))
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        await WaitForTypeAsync("CONFLICT_OWN");
        await WaitForTypeAsync("STATUS");

        Assert.True(Catalog.TryAcquire("STATUS", out var status));
        using (status) Assert.Equal("InstaDeploy.Agent.Plugins.Compose", status.PluginName);
        Assert.Contains("ZzConflicting ran CONFLICT_OWN", (await RunAsync("CONFLICT_OWN")).GetProperty("logs").GetString());
        Assert.Contains(_agent.Logs.Lines, l => l.Contains("Plugin ZzConflicting also provides STATUS, which plugin InstaDeploy.Agent.Plugins.Compose provides"));
        Assert.Equal(["CONFLICT_OWN"], Catalog.Plugins.Single(p => p.Name == "ZzConflicting").CommandTypes);
    }
}
