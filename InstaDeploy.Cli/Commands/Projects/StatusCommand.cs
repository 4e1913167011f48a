using System.CommandLine;
using System.Text.Json;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Projects;

/// <summary>
/// <c>instadeploy status [PROJECT] [--placements] [--agent ID | --selector S]</c>: without a project, every deployment
/// (GET /deployments); with one, where it is placed (GET /deployments/{p}) and its containers as its agent sees them now
/// (POST /status, then the job's result), or with a selector as every selected agent it is placed on sees them;
/// --placements only the first, which a read-only key may see.
/// </summary>
public sealed class StatusCommand : BaseCommand
{
    private readonly Argument<string?> _project = new("project") { Description = "The project; leave out to list every deployment", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<string?> _agent = ProjectArguments.Agent();
    private readonly Option<string?> _selector = ProjectArguments.Selector("The containers on every agent the project is placed on whose labels match");
    private readonly Option<int?> _timeout = new("--timeout") { Description = "Seconds the status job may take", HelpName = "seconds" };
    private readonly Option<bool> _placements = new("--placements") { Description = "Only where the project is placed and its state (no STATUS job; a read key suffices)" };

    public StatusCommand(CommandServices services)
        : base("status", "List deployments, or show a project's containers (state, health, ports) on its agent", services)
    {
        Add(_project);
        Add(_agent);
        Add(_selector);
        Add(_timeout);
        Add(_placements);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var project = context.Value(_project);
        var selector = context.Value(_selector);
        if (selector is not null && context.Value(_agent) is not null) throw CliException.Usage("Give --agent or --selector, not both.");
        if (project is null && (selector ?? context.Value(_agent)) is not null) throw CliException.Usage("--agent and --selector pick a project's agents: name the project.");
        if (project is null)
        {
            var deployments = await context.Api.GetAllAsync("/deployments", cancellationToken);
            context.Output.Write(deployments, () => context.Output.WriteTable(Placements(deployments, "Nothing is deployed yet.")),
                () => Styles.Items(deployments).Select(d => Styles.Text(d, "project_name")).Distinct());
            return ExitCodes.Success;
        }

        var placed = await context.Api.GetAsync($"/deployments/{InstaDeployApiClient.Escape(project)}", cancellationToken);
        var placements = placed.TryGetProperty("placements", out var list) ? list : default;
        if (context.Value(_placements))
        {
            context.Output.Write(placed, () => context.Output.WriteTable(Placements(placements, "")), () => Styles.Items(placements).Select(p => Styles.Text(p, "agent_id")));
            return ExitCodes.Success;
        }
        if (!context.Output.IsJson && !context.Output.Quiet)
        {
            context.Output.WriteTable(Placements(placements, ""));
            context.Output.Stdout.WriteLine();
        }

        var accepted = await context.Api.PostAsync("/status", new { project_name = project, agent_id = context.Value(_agent), selector, timeout_seconds = context.Value(_timeout) }, cancellationToken);
        if (selector is not null)
            return await FanOutRunner.CompleteAsync(context, accepted, JobMode.Wait, project, $"Status of {project}", cancellationToken, jobs => ShowContainers(context, jobs));
        return await JobRunner.CompleteAsync(context, accepted, JobMode.Wait, $"Status of {project}", cancellationToken, job => ShowContainers(context, [job]));
    }

    private static TableView Placements(JsonElement deployments, string empty)
    {
        var table = new TableView("PROJECT", "AGENT", "STATE", "REVISION", "LAST JOB", "UPDATED") { EmptyMessage = empty };
        foreach (var d in Styles.Items(deployments))
            table.Add(Styles.Text(d, "project_name"), Styles.Text(d, "agent_id"), Styles.Text(d, "state"), Styles.Text(d, "current_revision"), Styles.Text(d, "last_job_id"), Styles.Time(d, "updated_at"));
        return table;
    }

    /// <summary>The containers each job found; with several agents, a column says whose.</summary>
    private static void ShowContainers(CliContext context, IReadOnlyList<JsonElement> jobs)
    {
        var several = jobs.Count > 1;
        var table = new TableView(several ? ["AGENT", "CONTAINER", "SERVICE", "STATE", "HEALTH", "PORTS"] : ["CONTAINER", "SERVICE", "STATE", "HEALTH", "PORTS"])
        {
            EmptyMessage = several ? "The project has no containers on those agents." : "The project has no containers on that agent.",
        };
        foreach (var job in jobs)
            if (job.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object && result.TryGetProperty("containers", out var containers))
                foreach (var c in Styles.Items(containers))
                {
                    string?[] row = [Styles.Text(c, "name"), Styles.Text(c, "service"), Styles.Text(c, "state"), Styles.Text(c, "health"), Styles.Text(c, "ports")];
                    table.Add(several ? [Styles.Text(job, "agent_id"), .. row] : row);
                }
        context.Output.WriteTable(table);
    }
}
