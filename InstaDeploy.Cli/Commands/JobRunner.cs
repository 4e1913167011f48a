using System.Text.Json;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands;

/// <summary>
/// The one path for a job a command started (deploy, rollback, stop, status, health, run): print its id and return,
/// wait for it, or stream its output; then print the job and exit 0 if it completed, 1 if it failed.
/// </summary>
public static class JobRunner
{
    public static async Task<int> CompleteAsync(CliContext context, JsonElement accepted, JobMode mode, string what, CancellationToken cancellationToken,
        Action<JsonElement>? showResult = null)
    {
        var output = context.Output;
        var jobId = Styles.Text(accepted, "job_id") ?? throw new CliException(ExitCodes.ServerOrNetwork, "The control plane accepted the request but named no job_id.");
        var agent = Styles.Text(accepted, "agent_id");
        if (mode == JobMode.Return)
        {
            output.Write(accepted,
                () =>
                {
                    output.WriteTable(new TableView("JOB", "AGENT", "STATUS").Add(jobId, agent, Styles.Text(accepted, "status")));
                    output.Note($"Follow it with `instadeploy jobs logs -f {jobId}`.");
                },
                () => [jobId]);
            return ExitCodes.Success;
        }

        output.Note($"{what}: job {jobId} on {agent} ({Styles.Text(accepted, "status")})");
        JsonElement job;
        if (mode == JobMode.Follow)
        {
            // With --output json, standard output carries only the final job; the live output goes to standard error.
            Func<string, Task> write = output.IsJson
                ? text => context.Services.Environment.Error.WriteAsync(text)
                : output.WriteTextAsync;
            await context.Follower.FollowAsync($"/jobs/{InstaDeployApiClient.Escape(jobId)}/logs?follow=true", jobId, write, output.Note, cancellationToken);
            job = await context.Api.GetAsync($"/jobs/{InstaDeployApiClient.Escape(jobId)}", cancellationToken);
        }
        else
        {
            job = await output.WithProgressAsync($"{what}: waiting for job {jobId}", () => context.Follower.WaitAsync(jobId, cancellationToken));
        }
        return Report(context, job, showResult);
    }

    /// <summary>Prints a finished job (its result view, its JSON or its id) and turns its status into the exit code.</summary>
    public static int Report(CliContext context, JsonElement job, Action<JsonElement>? showResult = null)
    {
        var output = context.Output;
        var jobId = Styles.Text(job, "job_id");
        var status = Styles.Text(job, "status");
        output.Write(job, () => showResult?.Invoke(job), () => [jobId]);
        if (status == JobStatuses.Completed)
        {
            output.Note($"Job {jobId} {status}{Took(job)}.");
            return ExitCodes.Success;
        }
        var error = Styles.Text(job, "error");
        output.Error($"Job {jobId} {status}{(string.IsNullOrEmpty(error) ? "" : ": " + error)}");
        return ExitCodes.Failed;
    }

    private static string Took(JsonElement job) =>
        job.TryGetProperty("created_at", out var c) && job.TryGetProperty("completed_at", out var d) && c.TryGetDateTimeOffset(out var created) && d.ValueKind == JsonValueKind.String && d.TryGetDateTimeOffset(out var completed)
            ? $" in {(completed - created).TotalSeconds:0.0} s"
            : "";
}
