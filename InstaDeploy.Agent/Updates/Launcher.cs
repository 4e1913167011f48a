using System.Diagnostics;
using System.Runtime.InteropServices;

namespace InstaDeploy.Agent.Updates;

/// <summary>
/// <c>InstaDeploy.Agent launch</c>: the small process that keeps the agent running from <c>&lt;home&gt;/current</c>,
/// standalone or as systemd's ExecStart (with Restart=always for the launcher itself). It restarts an agent that exits;
/// an agent that exits with <see cref="AgentHome.RestartExitCode"/> after unpacking an update is switched to the new
/// version, which must write its confirmation (connected, health check passed) within the time its update.json gives.
/// If it exits first, or the time runs out, the launcher stops it, points <c>current</c> back at the previous version,
/// records why in update.json, and starts the previous version, which reports it to the control plane.
/// </summary>
internal static partial class Launcher
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public static async Task<int> RunAsync(string[] args)
    {
        var homeArgument = args.Length == 2 && args[0] == "--home" ? args[1] : Environment.GetEnvironmentVariable("AGENT_HOME");
        var home = homeArgument is { Length: > 0 } given ? new AgentHome(given) : AgentHome.OfProgramFolder(AppContext.BaseDirectory);
        if (home is null)
        {
            Console.Error.WriteLine("launcher: set AGENT_HOME (or --home DIR) to the agent's installation folder, or run the launcher from <home>/versions/<version>/ (where a release is unpacked)");
            return 2;
        }
        if (home.CurrentVersion() is null)
        {
            // First start from an unpacked release: it becomes current.
            var own = AgentHome.OfProgramFolder(AppContext.BaseDirectory) is { } ownHome && ownHome.Root == home.Root ? Path.GetFileName(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)) : null;
            if (own is null)
            {
                Console.Error.WriteLine($"launcher: {home.Current} does not exist; unpack a release into {home.Versions}/<version>/ and start the launcher from there once");
                return 2;
            }
            home.SwitchTo(own);
        }

        // The version the launcher itself runs from is never pruned: it loads parts of itself from there as it goes.
        var ownFolder = Path.GetFullPath(AppContext.BaseDirectory).TrimEnd(Path.DirectorySeparatorChar);
        var launcherVersion = Path.GetDirectoryName(ownFolder) == home.Versions ? Path.GetFileName(ownFolder) : ownFolder == home.Current ? home.CurrentVersion() : null;

        using var stopping = new CancellationTokenSource();
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stopping.Cancel(); });
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stopping.Cancel(); });
        var backoff = TimeSpan.FromSeconds(1);
        while (!stopping.IsCancellationRequested)
        {
            var version = home.CurrentVersion()!;
            var state = home.ReadState();
            var confirming = state is { State: UpdateState.Switching } && state.To == version ? state : null;
            var started = Stopwatch.StartNew();
            using var child = Start(home, version);
            Console.Error.WriteLine($"launcher: started agent {version} (pid {child.Id})");
            var (exited, confirmed) = await WatchAsync(home, child, confirming, stopping.Token);
            if (stopping.IsCancellationRequested)
            {
                await StopAsync(child);
                return 0;
            }
            if (confirming is not null)
            {
                if (confirmed)
                {
                    Console.Error.WriteLine($"launcher: agent {version} confirmed; {confirming.From} is the previous version");
                    home.ClearState();
                    Prune(home, launcherVersion is null ? [version, confirming.From] : [version, confirming.From, launcherVersion]);
                    if (!exited) (exited, _) = await WatchAsync(home, child, null, stopping.Token);
                }
                else
                {
                    var reason = exited
                        ? $"version {version} exited with code {child.ExitCode} after {started.Elapsed.TotalSeconds:0} s, before it connected and passed its health check"
                        : $"version {version} did not connect and pass its health check within {confirming.ConfirmSeconds} s";
                    await StopAsync(child);
                    Console.Error.WriteLine($"launcher: {reason}; starting {confirming.From} again");
                    home.SwitchTo(confirming.From);
                    home.WriteState(confirming with { State = UpdateState.RolledBack, Reason = $"{reason}; the launcher started {confirming.From} again" });
                    continue;
                }
                if (stopping.IsCancellationRequested)
                {
                    await StopAsync(child);
                    return 0;
                }
            }
            if (child.ExitCode == AgentHome.RestartExitCode && home.ReadState() is { State: UpdateState.Pending } pending && File.Exists(home.EntryOf(pending.To)))
            {
                Console.Error.WriteLine($"launcher: switching from {version} to {pending.To}; it has {pending.ConfirmSeconds} s to confirm");
                home.WriteState(pending with { State = UpdateState.Switching, From = version });
                File.Delete(home.ConfirmedFile);
                home.SwitchTo(pending.To);
                backoff = TimeSpan.FromSeconds(1);
                continue;
            }
            // Like systemd's Restart=always: an agent that stops is started again, sooner when it ran a while.
            backoff = started.Elapsed > TimeSpan.FromMinutes(1) ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(Math.Min(30, backoff.TotalSeconds * 2));
            Console.Error.WriteLine($"launcher: agent {version} exited with code {child.ExitCode}; starting it again in {backoff.TotalSeconds:0} s");
            try { await Task.Delay(backoff, stopping.Token); } catch (OperationCanceledException) { return 0; }
        }
        return 0;
    }

    /// <summary>Deletes the versions no rollback needs any more; a failure is reported, never a reason to stop.</summary>
    private static void Prune(AgentHome home, string[] keep)
    {
        try
        {
            foreach (var removed in home.Prune(keep)) Console.Error.WriteLine($"launcher: deleted version {removed} (kept {string.Join(", ", keep.Distinct())})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"launcher: could not delete old versions from {home.Versions}: {e.Message}");
        }
    }

    private static Process Start(AgentHome home, string version)
    {
        // In the home, not the version folder: relative AGENT_STATE_DIR and AGENT_PROJECTS_DIR (./agent-state, ./projects)
        // must be the same for every version.
        var start = new ProcessStartInfo(home.EntryOf(version)) { UseShellExecute = false, WorkingDirectory = home.Root };
        start.Environment["AGENT_HOME"] = home.Root;
        start.Environment["AGENT_VERSION"] = version;
        return Process.Start(start)!;
    }

    /// <summary>Waits until the child exits, or (when confirming) it confirms or its time runs out, or the launcher is stopped.</summary>
    private static async Task<(bool Exited, bool Confirmed)> WatchAsync(AgentHome home, Process child, UpdateState? confirming, CancellationToken stopping)
    {
        var deadline = confirming is null ? (DateTime?)null : DateTime.UtcNow.AddSeconds(confirming.ConfirmSeconds);
        while (!stopping.IsCancellationRequested)
        {
            if (confirming is not null && home.IsConfirmed(confirming.To)) return (child.HasExited, true);
            if (child.HasExited) return (true, confirming is not null && home.IsConfirmed(confirming.To));
            if (deadline is { } until && DateTime.UtcNow > until) return (false, false);
            try { await Task.Delay(Poll, stopping); } catch (OperationCanceledException) { break; }
        }
        return (child.HasExited, false);
    }

    /// <summary>SIGTERM (the agent drains its jobs), then SIGKILL after the agent's own shutdown time.</summary>
    private static async Task StopAsync(Process child)
    {
        if (child.HasExited) return;
        _ = Kill(child.Id, 15);
        try
        {
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(40));
        }
        catch (TimeoutException)
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
