using System.Text.Json;
using InstaDeploy.Agent.Commands;
using InstaDeploy.Agent.PluginHost;
using InstaDeploy.Contracts;
using InstaDeploy.Contracts.Bundles;

namespace InstaDeploy.Agent.Updates;

/// <summary>
/// UPDATE_AGENT on the agent. The running version downloads the release, checks it (size, SHA-256, the operator's
/// signature, its manifest's version and this machine's architecture), unpacks it into <c>versions/&lt;version&gt;/</c>,
/// lets the other running jobs finish, and stops for its launcher to switch. The job stays open across the switch: the
/// new version completes it once it has connected and passed its health check; if it never does, the previous version,
/// started again by the launcher, fails it with the launcher's reason. Either way the control plane learns the outcome
/// from the job, as a rollout does.
/// </summary>
internal sealed class AgentUpdater(AgentOptions options, BundleDownloader downloader, JobJournal journal, PluginCatalog plugins,
    IHostApplicationLifetime lifetime, ILogger<AgentUpdater> logger)
{
    /// <summary>Most bytes one release may unpack to.</summary>
    private const long MaxUnpackedBytes = 4L * 1024 * 1024 * 1024;

    private UpdateState? _confirming;

    /// <summary>Raised once an update is ready to switch, before it waits for the running jobs: the connection takes no
    /// new command from then on (and tells the control plane so).</summary>
    public event Func<Task>? StopTakingCommands;

    private AgentHome? Home => options.Home is { } root ? new AgentHome(root) : null;

    /// <summary>At start, before interrupted jobs are reported: the update job this process is the outcome of.</summary>
    public void TakeOverUpdateInProgress()
    {
        if (Home is not { } home || home.ReadState() is not { } state) return;
        if (state.State == UpdateState.Switching && state.To == options.Version)
        {
            journal.Hold(state.JobId); // completed once connected and healthy (ConfirmIfUpdated)
            _confirming = state;
            logger.UpdateConfirming(state.From, state.To);
        }
        else if (state.State == UpdateState.RolledBack && state.From == options.Version)
        {
            logger.UpdateRolledBack(state.To, state.Reason);
            Finish(state.JobId, JobStatuses.Failed, "", state.Reason, Outcome("rolled_back", state.To, state.From));
            home.ClearState();
        }
        else if (state.State == UpdateState.Pending && state.From == options.Version)
        {
            Finish(state.JobId, JobStatuses.Failed, "", $"the agent restarted before its launcher switched it to {state.To} (was it started without the launcher?); it runs {options.Version}", null);
            home.ClearState();
        }
    }

    /// <summary>Connected: a new version's health check (its plugins loaded, so it runs commands), then its confirmation to
    /// the launcher and the update job's result, before the held results go out.</summary>
    public void ConfirmIfUpdated()
    {
        if (_confirming is not { } state || Home is not { } home) return;
        if (plugins.CommandTypes.Count == 0)
        {
            logger.UpdateUnhealthy(state.To);
            return; // not confirmed: the launcher starts the previous version again when the time runs out
        }
        home.Confirm(state.To);
        _confirming = null;
        Finish(state.JobId, JobStatuses.Completed, $"Agent updated from {state.From} to {state.To}: connected, {plugins.CommandTypes.Count} command types loaded.\n", "", Outcome("updated", state.To, state.From));
        logger.UpdateConfirmed(state.From, state.To);
    }

    /// <summary>Runs UPDATE_AGENT; the final response, or null when the job stays open for the next version to finish.</summary>
    public async Task<AgentResponse?> RunAsync(AgentCommand command, CancellationToken cancellationToken)
    {
        UpdateAgentPayload payload;
        try
        {
            payload = command.Payload.Deserialize(ReleasePayloadJson.UpdateAgent) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            return Failed(command.Id, $"invalid payload for {CommandTypes.UpdateAgent}: {e.Message}");
        }
        if (Home is not { } home)
            return Refused(command.Id, payload.Version, "this agent was not started by its launcher (InstaDeploy.Agent launch, which sets AGENT_HOME), so it cannot switch versions; see docs/DEPLOYMENT.md, Agent updates");
        if (!BundleManifest.IsValidVersion(payload.Version)) return Failed(command.Id, $"'{AgentLabels.Shown(payload.Version)}' is not a release version");
        if (payload.Version == options.Version)
            return new AgentResponse { JobId = command.Id, Status = JobStatuses.Completed, Logs = $"Agent {options.Version} runs already.\n" };
        var machine = AgentOptions.DefaultArchitecture();
        if (payload.Architecture != machine)
            return Refused(command.Id, payload.Version, $"release {payload.Version} is for {AgentLabels.Shown(payload.Architecture)}; this machine is {machine}. Nothing was changed; {options.Version} keeps running.");

        var bundle = Path.Combine(home.Downloads, $"agent-{payload.Version}.tar.gz");
        var partial = home.VersionFolder(payload.Version) + ".partial";
        try
        {
            await downloader.DownloadAsync(payload.DownloadPath, payload.SizeBytes, payload.Sha256, payload.Signature, bundle, cancellationToken);
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
            BundleManifest manifest;
            await using (var file = File.OpenRead(bundle)) manifest = await BundleArchive.ExtractAsync(file, partial, MaxUnpackedBytes, cancellationToken);
            if (manifest.Kind != BundleManifest.KindAgent || manifest.Version != payload.Version)
                throw new BundleException($"the bundle says it is {manifest.Kind} {manifest.Name} {manifest.Version}, not agent release {payload.Version}");
            if (manifest.Architecture != machine)
                throw new BundleException($"the bundle is built for {manifest.Architecture}; this machine is {machine}");
            if (!File.Exists(Path.Combine(partial, manifest.Entry!))) throw new BundleException($"the bundle has no {manifest.Entry} (its manifest's entry)");
            await File.WriteAllBytesAsync(Path.Combine(partial, BundleManifest.FileName), manifest.ToJson(), cancellationToken);
            var target = home.VersionFolder(payload.Version);
            if (home.CurrentVersion() != payload.Version && Directory.Exists(target)) Directory.Delete(target, recursive: true);
            Directory.Move(partial, target);
        }
        catch (BundleException e)
        {
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
            logger.UpdateRefused(payload.Version, e.Message);
            return Refused(command.Id, payload.Version, $"release {payload.Version} refused: {e.Message}. Nothing was changed; {options.Version} keeps running.");
        }
        finally
        {
            File.Delete(bundle);
        }

        // The other running jobs finish first; the switch happens between jobs. Meanwhile this version takes no new
        // command: the control plane holds them (as for any agent that stops) and sends them to the new version.
        if (StopTakingCommands is { } stop) await stop();
        while (journal.Running.Any(id => id != command.Id)) await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        home.WriteState(new UpdateState
        {
            State = UpdateState.Pending, JobId = command.Id, From = options.Version, To = payload.Version, ConfirmSeconds = Math.Clamp(payload.ConfirmSeconds, 10, 3600),
        });
        logger.UpdateRestarting(options.Version, payload.Version);
        Environment.ExitCode = AgentHome.RestartExitCode;
        lifetime.StopApplication();
        return null;
    }

    private static AgentResponse Failed(string jobId, string error) => new() { JobId = jobId, Status = JobStatuses.Failed, Error = error };

    private AgentResponse Refused(string jobId, string version, string error) =>
        new() { JobId = jobId, Status = JobStatuses.Failed, Error = error, Result = Outcome("refused", version, options.Version) };

    /// <summary>The update job's result: how it ended (updated, rolled_back, refused), the version it was to, the one before.</summary>
    private static JsonElement Outcome(string outcome, string version, string previousVersion) =>
        JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["outcome"] = outcome, ["version"] = version, ["previous_version"] = previousVersion });

    private void Finish(string jobId, string status, string logs, string error, JsonElement? result)
    {
        var response = new AgentResponse { JobId = jobId, Status = status, Logs = logs, Error = error, Result = result };
        if (!journal.Finish(jobId, WireJson.Serialize(response))) logger.JournalUnwritable(journal.LastFailure ?? "unknown");
    }
}
