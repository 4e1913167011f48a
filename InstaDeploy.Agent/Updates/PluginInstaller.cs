using System.Text.Json;
using InstaDeploy.Agent.PluginHost;
using InstaDeploy.Contracts;
using InstaDeploy.Contracts.Bundles;

namespace InstaDeploy.Agent.Updates;

/// <summary>
/// INSTALL_PLUGIN and REMOVE_PLUGIN: a signed plugin package (checked as a release is: size, SHA-256, the operator's
/// signature with AGENT_UPDATE_PUBLIC_KEY, its manifest) is unpacked beside the installed-plugins folder and moved into
/// <c>&lt;that folder&gt;/&lt;name&gt;/</c> in one rename, where the folder watcher loads it live as it loads a folder
/// dropped by hand; a removal deletes the folder and the plugin unloads once its running jobs end. The job ends once the
/// catalog shows it. Under the launcher that folder is <c>&lt;AGENT_HOME&gt;/plugins</c>, so an installed plugin
/// outlives agent updates and rollbacks; the built-in plugins stay in each version's own folder.
/// </summary>
internal sealed class PluginInstaller(AgentOptions options, BundleDownloader downloader, PluginCatalog plugins, TimeProvider time, ILogger<PluginInstaller> logger)
{
    private const long MaxUnpackedBytes = 1024L * 1024 * 1024;
    private static readonly TimeSpan LoadWait = TimeSpan.FromSeconds(30);

    private string Installed => options.InstalledPluginsDirectory;
    private string Staging => Path.Combine(Path.GetDirectoryName(Installed.TrimEnd(Path.DirectorySeparatorChar))!, ".plugins-staging");

    public async Task<AgentResponse?> RunAsync(AgentCommand command, CancellationToken cancellationToken)
    {
        try
        {
            return command.Type == CommandTypes.InstallPlugin
                ? await InstallAsync(command.Id, command.Payload.Deserialize(ReleasePayloadJson.InstallPlugin) ?? throw new JsonException("null"), cancellationToken)
                : await RemoveAsync(command.Id, command.Payload.Deserialize(ReleasePayloadJson.RemovePlugin) ?? throw new JsonException("null"), cancellationToken);
        }
        catch (JsonException e)
        {
            return Failed(command.Id, $"invalid payload for {command.Type}: {e.Message}");
        }
    }

    private async Task<AgentResponse> InstallAsync(string jobId, InstallPluginPayload payload, CancellationToken cancellationToken)
    {
        if (!BundleManifest.IsValidName(payload.Name) || !BundleManifest.IsValidVersion(payload.Version))
            return Failed(jobId, $"'{AgentLabels.Shown(payload.Name)}' {AgentLabels.Shown(payload.Version)} is not a plugin name and version");
        Directory.CreateDirectory(Staging);
        var package = Path.Combine(Staging, $"{payload.Name}-{payload.Version}.tar.gz");
        var unpacked = Path.Combine(Staging, payload.Name);
        var old = Path.Combine(Staging, payload.Name + ".old");
        var target = Path.Combine(Installed, payload.Name);
        string? before = null;
        try
        {
            await downloader.DownloadAsync(payload.DownloadPath, payload.SizeBytes, payload.Sha256, payload.Signature, package, cancellationToken);
            if (Directory.Exists(unpacked)) Directory.Delete(unpacked, recursive: true);
            BundleManifest manifest;
            await using (var file = File.OpenRead(package)) manifest = await BundleArchive.ExtractAsync(file, unpacked, MaxUnpackedBytes, cancellationToken);
            if (manifest.Kind != BundleManifest.KindPlugin || manifest.Name != payload.Name || manifest.Version != payload.Version)
                throw new BundleException($"the package says it is {manifest.Kind} {manifest.Name} {manifest.Version}, not plugin {payload.Name} {payload.Version}");
            if (!File.Exists(Path.Combine(unpacked, payload.Name + ".dll"))) throw new BundleException($"the package has no {payload.Name}.dll");
            Directory.CreateDirectory(Installed);
            before = plugins.Find(payload.Name)?.Fingerprint;
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
            if (Directory.Exists(target)) Directory.Move(target, old);
            Directory.Move(unpacked, target);
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        }
        catch (BundleException e)
        {
            if (Directory.Exists(unpacked)) Directory.Delete(unpacked, recursive: true);
            logger.UpdateRefused($"{payload.Name} {payload.Version}", e.Message);
            return Failed(jobId, $"plugin package {payload.Name} {payload.Version} refused: {e.Message}. Nothing was changed.");
        }
        finally
        {
            File.Delete(package);
        }

        var deadline = time.GetUtcNow() + LoadWait;
        while (time.GetUtcNow() < deadline)
        {
            // Loaded from the new folder (a replaced plugin reloads: its fingerprint changes).
            if (plugins.Find(payload.Name) is { } now && now.Fingerprint != before
                && plugins.Plugins.FirstOrDefault(p => p.Name == payload.Name) is { } loaded)
                return new AgentResponse
                {
                    JobId = jobId, Status = JobStatuses.Completed,
                    Logs = $"Plugin {payload.Name} {payload.Version} installed and loaded (assembly version {loaded.Version}): {string.Join(", ", loaded.CommandTypes)}\n",
                };
            await Task.Delay(TimeSpan.FromMilliseconds(250), time, cancellationToken);
        }
        return Failed(jobId, $"plugin {payload.Name} {payload.Version} was put into {target} but did not load within {LoadWait.TotalSeconds:0} s (the agent's log says why: a missing dependency, a command type another plugin has, an SDK it lacks)");
    }

    private async Task<AgentResponse> RemoveAsync(string jobId, RemovePluginPayload payload, CancellationToken cancellationToken)
    {
        if (!BundleManifest.IsValidName(payload.Name)) return Failed(jobId, $"'{AgentLabels.Shown(payload.Name)}' is not a plugin name");
        var target = Path.Combine(Installed, payload.Name);
        if (!Directory.Exists(target) && Directory.Exists(Path.Combine(options.PluginsDirectory, payload.Name)))
            return Failed(jobId, $"plugin {payload.Name} is built into this agent's release ({options.PluginsDirectory}), not installed from the control plane; it cannot be removed (install a package of it to replace it, or update the agent to a release without it)");
        if (!Directory.Exists(target))
            return new AgentResponse { JobId = jobId, Status = JobStatuses.Completed, Logs = $"Plugin {payload.Name} is not installed here.\n" };
        var installedFingerprint = plugins.Find(payload.Name)?.Fingerprint;
        Directory.CreateDirectory(Staging);
        var removed = Path.Combine(Staging, payload.Name + ".removed");
        if (Directory.Exists(removed)) Directory.Delete(removed, recursive: true);
        Directory.Move(target, removed); // gone from plugins/ at once; deleted below
        Directory.Delete(removed, recursive: true);
        var deadline = time.GetUtcNow() + LoadWait;
        // Unloaded, or (when it replaced a built-in plugin of that name) the built-in one loaded again.
        while (plugins.Find(payload.Name)?.Fingerprint is { } now && now == installedFingerprint && time.GetUtcNow() < deadline)
            await Task.Delay(TimeSpan.FromMilliseconds(250), time, cancellationToken);
        return new AgentResponse { JobId = jobId, Status = JobStatuses.Completed, Logs = $"Plugin {payload.Name} removed.\n" };
    }

    private static AgentResponse Failed(string jobId, string error) => new() { JobId = jobId, Status = JobStatuses.Failed, Error = error };
}
