using System.CommandLine;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Jobs;

/// <summary><c>instadeploy jobs ls [--agent] [--project] [--status] [--limit]</c>: GET /jobs, newest first.</summary>
public sealed class JobsListCommand : BaseCommand
{
    private readonly Option<string?> _agent = new("--agent", "-a") { Description = "Only this agent's jobs", HelpName = "id" };
    private readonly Option<string?> _project = new("--project", "-p") { Description = "Only this project's jobs", HelpName = "name" };
    private readonly Option<string?> _status = new Option<string?>("--status") { Description = "Only jobs in this state", HelpName = "status" }
        .AcceptOnlyFromAmong("PENDING", "SENT", "RUNNING", "COMPLETED", "FAILED", "TIMED_OUT", "EXPIRED");
    private readonly Option<int?> _limit = new("--limit") { Description = "At most this many (server default 100, max 1000)", HelpName = "n" };

    public JobsListCommand(CommandServices services) : base("ls", "List jobs, newest first", services)
    {
        Aliases.Add("list");
        Add(_agent);
        Add(_project);
        Add(_status);
        Add(_limit);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var jobs = await context.Api.GetAsync("/jobs" + InstaDeployApiClient.Query(
            ("agent_id", context.Value(_agent)), ("project_name", context.Value(_project)), ("status", context.Value(_status)),
            ("limit", context.Value(_limit)?.ToString(System.Globalization.CultureInfo.InvariantCulture))), cancellationToken);
        context.Output.Write(jobs, () =>
        {
            var table = new TableView("JOB", "TYPE", "AGENT", "PROJECT", "STATUS", "CREATED") { EmptyMessage = "No jobs." };
            foreach (var job in Styles.Items(jobs))
                table.Add(Styles.Text(job, "job_id"), Styles.Text(job, "type"), Styles.Text(job, "agent_id"), Styles.Text(job, "project_name"), Styles.Text(job, "status"), Styles.Time(job, "created_at"));
            context.Output.WriteTable(table);
        }, () => Styles.Items(jobs).Select(j => Styles.Text(j, "job_id")));
        return ExitCodes.Success;
    }
}
