namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>
/// Waits after <c>up -d</c> until every container of the project is running (and healthy, where it has a
/// healthcheck), or exited 0 (a one-shot task), and still so a moment later. Fails at once on a container that exited
/// with an error and will not be restarted, is dead or unhealthy; one that the engine restarts (the "retry until the
/// database is up" pattern) gets until the deadline to come up and stay up.
/// </summary>
public sealed class HealthGate(ProjectContainers containers, TimeProvider time)
{
    /// <summary>How long all containers must stay ready before the deploy counts as successful (catches a crash right after start).</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>null when the project came up healthy; else why not, in words an operator can act on.</summary>
    public async Task<string?> WaitAsync(string projectName, TimeSpan wait, CommandContext context)
    {
        await context.WriteOutputLineAsync($"Waiting up to {wait.TotalSeconds:0} s for the containers to be running (and healthy, where they have a healthcheck)");
        // Elapsed time on the monotonic clock: a step of the wall clock (NTP, a VM resumed) neither fails nor prolongs the wait.
        var started = time.GetTimestamp();
        TimeSpan? readySince = null;
        Dictionary<string, int> restarts = [];
        while (true)
        {
            var found = await containers.ListAsync(projectName, context.CancellationToken);
            if (found.Count == 0) return "no containers of the project exist after compose up";

            string? failure = null;
            var waitingFor = new List<string>();
            foreach (var c in found)
            {
                var restarted = restarts.TryGetValue(c.Id, out var before) && c.RestartCount > before;
                restarts[c.Id] = c.RestartCount;
                var willRestart = c.RestartPolicy is "always" or "unless-stopped" or "on-failure";
                failure ??= (c.State, c.Health) switch
                {
                    ("exited", _) when c.ExitCode != 0 && !willRestart => $"container {c.Name} exited with code {c.ExitCode}",
                    ("dead", _) => $"container {c.Name} is dead",
                    ("running", "unhealthy") => $"container {c.Name} is unhealthy" + (c.LastHealthOutput is { Length: > 0 } o ? $": {o}" : ""),
                    _ => null,
                };
                var ready = !restarted && ((c.State == "running" && c.Health is "none" or "healthy") || (c.State == "exited" && c.ExitCode == 0));
                if (!ready)
                    waitingFor.Add(c.State is "restarting" || restarted || (c.State == "exited" && willRestart)
                        ? $"{c.Name} (crashing: restarted {c.RestartCount} time(s), last exit code {c.ExitCode})"
                        : $"{c.Name} ({c.State}{(c.Health == "none" ? "" : ", " + c.Health)})");
            }
            if (failure is not null)
            {
                await DescribeAsync(found, context);
                return failure;
            }

            var now = time.GetElapsedTime(started);
            if (waitingFor.Count == 0)
            {
                readySince ??= now;
                if (now - readySince >= Settle || now >= wait)
                {
                    await DescribeAsync(found, context);
                    return null;
                }
            }
            else
            {
                readySince = null;
                if (now >= wait)
                {
                    await DescribeAsync(found, context);
                    return $"not ready after {wait.TotalSeconds:0} s (health_wait_seconds): {string.Join(", ", waitingFor)}";
                }
            }
            await Task.Delay(PollInterval, time, context.CancellationToken);
        }
    }

    private static async Task DescribeAsync(IReadOnlyList<ContainerInfo> found, CommandContext context)
    {
        foreach (var c in found)
            await context.WriteOutputLineAsync($"  {c.Name}: {c.State}{(c.Health == "none" ? "" : $" ({c.Health})")}{(c.State == "exited" ? $", exit code {c.ExitCode}" : "")}{(c.RestartCount > 0 ? $", restarted {c.RestartCount} time(s)" : "")}");
    }
}
