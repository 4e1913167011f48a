using System.CommandLine;
using System.Text.Json;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Jobs;

/// <summary><c>instadeploy jobs show ID</c>: GET /jobs/{id}.</summary>
public sealed class JobsShowCommand : BaseCommand
{
    private readonly Argument<string> _job = new("job") { Description = "The job's id" };
    private readonly Option<bool> _logs = new("--logs") { Description = "Also print the job's output" };

    public JobsShowCommand(CommandServices services) : base("show", "Show one job: type, agent, project, status, error, result, times", services)
    {
        Add(_job);
        Add(_logs);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var job = await context.Api.GetAsync($"/jobs/{InstaDeployApiClient.Escape(context.Required(_job))}", cancellationToken);
        context.Output.Write(job, () =>
        {
            context.Output.WriteDetails([
                ("job", Styles.Text(job, "job_id")),
                ("type", Styles.Text(job, "type")),
                ("agent", Styles.Text(job, "agent_id")),
                ("project", Styles.Text(job, "project_name")),
                ("status", Styles.Text(job, "status")),
                ("error", Styles.Text(job, "error")),
                ("created", Styles.Time(job, "created_at")),
                ("updated", Styles.Time(job, "updated_at")),
                ("completed", Styles.Time(job, "completed_at")),
                ("result", job.TryGetProperty("result", out var result) && result.ValueKind != JsonValueKind.Null ? result.GetRawText() : null),
            ]);
            if (context.Value(_logs)) context.Output.Stdout.Write(Environment.NewLine + Styles.Text(job, "logs"));
        }, () => [Styles.Text(job, "job_id")]);
        return ExitCodes.Success;
    }
}
