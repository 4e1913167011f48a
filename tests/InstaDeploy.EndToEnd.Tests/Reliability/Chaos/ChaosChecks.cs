using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests.Reliability.Chaos;

/// <summary>What one sequence came to: its figures, and every way it broke a guarantee.</summary>
public sealed record ChaosOutcome(
    int Seed, int Steps, TimeSpan Duration, bool ClockSteps, int Accepted,
    IReadOnlyDictionary<string, int> Faults, IReadOnlyDictionary<string, int> JobsByStatus, IReadOnlyDictionary<string, int> Refused,
    IReadOnlyList<string> Mismatches, IReadOnlyList<string> Problems)
{
    public int FaultCount => Faults.Values.Sum();

    public bool Passed => Mismatches.Count == 0 && Problems.Count == 0;

    public string Figures =>
        $"seed {Seed}: {Steps} steps in {Duration.TotalSeconds:0} s, {Accepted} jobs accepted ({string.Join(", ", JobsByStatus.Select(s => $"{s.Value} {s.Key}"))}), "
        + $"{FaultCount} faults ({string.Join(", ", Faults.Select(f => $"{f.Value} {f.Key}"))}), refused: {(Refused.Count == 0 ? "none" : string.Join(", ", Refused.Select(r => $"{r.Value} {r.Key}")))}, "
        + $"clock steps {(ClockSteps ? "on" : "off")}, mismatches: {Mismatches.Count}, other failures: {Problems.Count}";
}

/// <summary>
/// After a sequence: wait for quiescence (the agent connected, every accepted job final, the reconciler given time to
/// compare each placement with the engine), then check the guarantees:
/// <list type="bullet">
/// <item>for every project, the placement's state and current revision equal what <c>docker</c> shows: no containers is
/// <c>stopped</c>, all running is <c>running</c>, some is <c>degraded</c>, and the containers' revision label is the
/// current revision;</item>
/// <item>every accepted job is in a final state;</item>
/// <item>none ran twice, by two independent witnesses: the agent's own log line "Job X: running" (every agent process
/// of the sequence counted), and the engine, which never created the container of one service for one revision twice
/// (each deploy has its own revision number and labels what it creates with it, so a deploy run again after anything
/// replaced its containers creates them a second time);</item>
/// <item>the agent's journal holds nothing for these jobs any more: no job still marked started, no result unacknowledged.</item>
/// </list>
/// </summary>
internal static class ChaosChecks
{
    private static readonly string[] Final = ["COMPLETED", "FAILED", "TIMED_OUT", "EXPIRED"];

    public static async Task<ChaosOutcome> SettleAndCheckAsync(ChaosSequence run, TimeSpan duration)
    {
        var problems = new List<string>();
        var mismatches = new List<string>();
        var api = run.Api;

        try
        {
            await api.WaitForAgentOnlineAsync(ChaosSequence.AgentId, TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            problems.Add("the agent was not online 120 s after the sequence ended");
        }

        // Every accepted job final. A job lost for good would end TIMED_OUT (150 s of connected time) well within this.
        var statuses = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var waitForJobs = Stopwatch.StartNew();
        while (statuses.Count < run.Accepted.Count && waitForJobs.Elapsed < TimeSpan.FromMinutes(5))
        {
            foreach (var (jobId, _, _) in run.Accepted.Where(a => !statuses.ContainsKey(a.JobId)))
            {
                var job = await api.GetJsonAsync($"/jobs/{jobId}");
                if (Final.Contains(job.GetProperty("status").GetString())) statuses[jobId] = job;
            }
            if (statuses.Count < run.Accepted.Count) await Task.Delay(1000);
        }
        foreach (var (jobId, what, project) in run.Accepted.Where(a => !statuses.ContainsKey(a.JobId)))
        {
            var job = await api.GetJsonAsync($"/jobs/{jobId}");
            problems.Add($"{what} {project} ({jobId}) is still {job.GetProperty("status").GetString()} 5 min after the sequence ended");
        }
        var byStatus = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var job in statuses.Values)
        {
            var status = job.GetProperty("status").GetString()!;
            byStatus[status] = byStatus.GetValueOrDefault(status) + 1;
        }

        // The reconciler compares every placement not checked for INSTADEPLOY_RECONCILE_SECONDS (10 s here); give it a
        // few rounds to settle, then take what is left as mismatches.
        var differences = new Dictionary<string, string>(StringComparer.Ordinal);
        var settle = Stopwatch.StartNew();
        do
        {
            differences.Clear();
            foreach (var project in run.Projects)
                if (await CompareAsync(api, project) is { } difference) differences[project] = difference;
            if (differences.Count == 0) break;
            await Task.Delay(1000);
        } while (settle.Elapsed < TimeSpan.FromSeconds(90));
        mismatches.AddRange(differences.Select(d => $"{d.Key}: {d.Value}"));

        // None ran twice.
        foreach (var (jobId, what, project) in run.Accepted)
        {
            var runs = run.AgentProcesses.Sum(a => a.Lines.Count(l => l.Contains($"Job {jobId}: running ", StringComparison.Ordinal)));
            if (runs > 1) problems.Add($"{what} {project} ({jobId}) ran {runs} times (the agent's log)");
        }
        foreach (var (created, times) in run.Creations.CreatedMoreThanOnce(p => run.Projects.Contains(p)))
            problems.Add($"{created.Project}: the container of service '{created.Service}' for revision {created.Revision} was created {times} times: a deploy ran again");

        // The journal: nothing left started (a job the agent forgot to finish) or unacknowledged.
        var accepted = run.Accepted.Select(a => a.JobId).ToHashSet(StringComparer.Ordinal);
        try
        {
            await Eventually.TrueAsync(() => Left(run.JournalFolder, accepted).Count == 0, TimeSpan.FromSeconds(45), "the journal to hold nothing of the accepted jobs");
        }
        catch (TimeoutException)
        {
            problems.Add("the agent's journal still holds " + string.Join(", ", Left(run.JournalFolder, accepted)));
        }

        return new ChaosOutcome(run.Seed, run.Steps, duration, run.ClockSteps, run.Accepted.Count, run.Faults, byStatus, run.Refused, mismatches, problems);
    }

    private static List<string> Left(string journal, HashSet<string> accepted) =>
        !Directory.Exists(journal) ? [] :
        [.. Directory.GetFiles(journal).Select(f => Path.GetFileName(f)).Where(f => accepted.Contains(f.Split('.')[0]))];

    /// <summary>null when the placement says what the engine shows; else how they differ.</summary>
    private static async Task<string?> CompareAsync(HttpClient api, string project)
    {
        var (exitCode, output) = await DockerCli.RunAsync("ps", "-a", "--filter", $"label=com.docker.compose.project={project}",
            "--format", "{{.State}}\t{{.Label \"io.instadeploy.revision\"}}");
        if (exitCode != 0) return $"docker ps failed: {output}";
        var containers = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('\t')).Select(p => (State: p[0], Revision: p.Length > 1 ? p[1] : "")).ToList();
        var engineState = containers.Count == 0 ? "stopped" : containers.All(c => c.State == "running") ? "running" : "degraded";
        var labels = containers.Select(c => c.Revision).Distinct().ToList();
        int? engineRevision = labels is [{ } one] && int.TryParse(one, out var n) ? n : null;
        var engine = $"the engine: {engineState}, {containers.Count} container(s), revision label(s) {(labels.Count == 0 ? "none" : string.Join("/", labels))}";

        using var response = await api.GetAsync($"/deployments/{project}");
        if (response.StatusCode == HttpStatusCode.NotFound)
            return containers.Count == 0 ? null : $"no placement; {engine}";
        response.EnsureSuccessStatusCode();
        var placements = (await response.ReadJsonAsync()).GetProperty("placements").EnumerateArray()
            .Where(p => p.GetProperty("agent_id").GetString() == ChaosSequence.AgentId).ToList();
        if (placements is not [var placement]) return $"{placements.Count} placements on {ChaosSequence.AgentId}; {engine}";
        var state = placement.GetProperty("state").GetString();
        int? revision = placement.TryGetProperty("current_revision", out var r) && r.ValueKind == JsonValueKind.Number ? r.GetInt32() : null;
        var said = $"the control plane: {state}, revision {revision?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} ({placement.GetRawText()})";
        if (state != engineState) return $"{said}; {engine}";
        if (engineState != "stopped" && revision != engineRevision) return $"{said}; {engine}";
        return null;
    }
}
