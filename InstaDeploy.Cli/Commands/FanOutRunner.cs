using System.Text.Json;
using System.Text.Json.Nodes;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands;

/// <summary>
/// The jobs of a command sent to every selected agent (<c>stop</c>, <c>status</c> with <c>--selector</c>), which the
/// server answers with 202 <c>{jobs, refused}</c>: print them and return, or wait for every job. Exit 0 only when every
/// selected agent got its job and each completed; 1 otherwise. With <c>-o json</c> the answer's shape is kept:
/// <c>{jobs, refused}</c>, each job as GET /jobs/{id} has it once waited for.
/// </summary>
public static class FanOutRunner
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    public static async Task<int> CompleteAsync(CliContext context, JsonElement answer, JobMode mode, string project, string what, CancellationToken cancellationToken,
        Action<IReadOnlyList<JsonElement>>? showResults = null)
    {
        var output = context.Output;
        var accepted = answer.TryGetProperty("jobs", out var list) ? Styles.Items(list).ToList() : [];
        var refused = answer.TryGetProperty("refused", out var no) ? Styles.Items(no).ToList() : [];
        foreach (var refusal in refused)
            output.Error($"{what}: not sent to {Styles.Text(refusal, "agent_id")}: {Styles.Text(refusal, "title")}: {Styles.Text(refusal, "detail")}");

        if (mode == JobMode.Return)
        {
            output.Write(answer, () =>
            {
                var table = new TableView("JOB", "AGENT", "STATUS") { EmptyMessage = "No job was created." };
                foreach (var job in accepted) table.Add(Styles.Text(job, "job_id"), Styles.Text(job, "agent_id"), Styles.Text(job, "status"));
                output.WriteTable(table);
            }, () => accepted.Select(j => Styles.Text(j, "job_id")));
            return refused.Count == 0 ? ExitCodes.Success : ExitCodes.Failed;
        }

        output.Note($"{what}: {accepted.Count} job(s) on {string.Join(", ", accepted.Select(j => Styles.Text(j, "agent_id")))}");
        var ids = accepted.Select(j => Styles.Text(j, "job_id")!).ToList();
        await output.WithProgressAsync($"{what}: waiting for {ids.Count} job(s)", () => WaitAllAsync(context, project, ids, cancellationToken));
        var jobs = new List<JsonElement>();
        foreach (var id in ids) jobs.Add(await context.Api.GetAsync($"/jobs/{InstaDeployApiClient.Escape(id)}", cancellationToken));

        var result = new JsonObject
        {
            ["jobs"] = new JsonArray([.. jobs.Select(j => JsonNode.Parse(j.GetRawText()))]),
            ["refused"] = JsonNode.Parse(no.ValueKind == JsonValueKind.Array ? no.GetRawText() : "[]"),
        };
        output.Write(JsonSerializer.SerializeToElement(result), () =>
        {
            if (showResults is not null) showResults(jobs);
            else
            {
                var table = new TableView("JOB", "AGENT", "STATUS", "ERROR") { EmptyMessage = "No job was created." };
                foreach (var job in jobs) table.Add(Styles.Text(job, "job_id"), Styles.Text(job, "agent_id"), Styles.Text(job, "status"), Styles.Text(job, "error"));
                output.WriteTable(table);
            }
        }, () => ids);

        var failed = jobs.Where(j => Styles.Text(j, "status") != JobStatuses.Completed).ToList();
        foreach (var job in failed)
            output.Error($"Job {Styles.Text(job, "job_id")} on {Styles.Text(job, "agent_id")} {Styles.Text(job, "status")}: {Styles.Text(job, "error")}");
        if (failed.Count == 0 && refused.Count == 0)
        {
            output.Note($"{what}: {jobs.Count} job(s) COMPLETED.");
            return ExitCodes.Success;
        }
        return ExitCodes.Failed;
    }

    /// <summary>One list request per second (GET /jobs?project_name=…), however many agents: the per-key rate limit holds.</summary>
    private static async Task<bool> WaitAllAsync(CliContext context, string project, List<string> ids, CancellationToken cancellationToken)
    {
        var open = new HashSet<string>(ids, StringComparer.Ordinal);
        var failures = 0;
        while (open.Count > 0)
        {
            try
            {
                var listed = await context.Api.GetAsync("/jobs" + InstaDeployApiClient.Query(("project_name", project), ("limit", "1000")), cancellationToken);
                failures = 0;
                foreach (var job in Styles.Items(listed))
                    if (Styles.Text(job, "job_id") is { } id && open.Contains(id) && JobStatuses.IsTerminal(Styles.Text(job, "status")))
                    {
                        open.Remove(id);
                        context.Output.Note($"  {Styles.Text(job, "agent_id")}: job {id} {Styles.Text(job, "status")}");
                    }
                // A job pushed out of the newest thousand (a busy project) is read on its own.
                if (open.Count > 0 && Styles.Items(listed).Count() >= 1000)
                    foreach (var id in open.ToList())
                        if (JobStatuses.IsTerminal(Styles.Text(await context.Api.GetAsync($"/jobs/{InstaDeployApiClient.Escape(id)}", cancellationToken), "status")))
                            open.Remove(id);
            }
            catch (CliException e) when (e.ExitCode == ExitCodes.ServerOrNetwork && ++failures <= JobFollower.MaxReconnects)
            {
                // A passing outage while the jobs run on: keep waiting.
            }
            if (open.Count > 0) await Task.Delay(PollInterval, context.Services.Time, cancellationToken);
        }
        return true;
    }
}
