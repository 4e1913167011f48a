using System.CommandLine;
using System.Text.Json;
using InstaDeploy.Cli.Commands.Rollouts;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Deploy;

/// <summary>
/// <c>instadeploy deploy -f compose.yml [-p project] [--agent ID | --selector S + strategy] [--env-file F --secret NAME]
/// [--follow]</c>: POST /deploy to one agent, or POST /rollouts to several (by selector or several --agent).
/// </summary>
public sealed class DeployCommand : BaseCommand
{
    private readonly Option<FileInfo> _file = new("--file", "-f") { Description = "The docker-compose file to deploy", Required = true, HelpName = "compose.yml" };
    private readonly Option<string?> _project = new("--project", "-p") { Description = "The project's name (default: the file's top-level name:, else its folder's name)", HelpName = "name" };
    private readonly Option<string[]> _agents = new("--agent", "-a")
    {
        Description = "The agent to deploy to (default: where the project runs, or the only online agent); repeat for a rollout to several",
        HelpName = "id",
    };
    private readonly Option<string?> _selector = new("--selector", "-l") { Description = "Roll out to every agent whose labels match, e.g. env=prod (see the strategy flags)", HelpName = "selector" };
    private readonly Option<int?> _healthWait = new("--health-wait") { Description = "Seconds to wait for every container to be running and healthy (0: do not wait; server default 60)", HelpName = "seconds" };
    private readonly Option<bool> _rollbackOnFailure = new("--rollback-on-failure") { Description = "If the deploy fails, the agent redeploys the last successful revision" };
    private readonly Option<FileInfo?> _envFile = new("--env-file") { Description = "A dotenv file (NAME=value lines) whose variables are set on the project first; plain unless named by --secret", HelpName = "file" };
    private readonly Option<string[]> _secrets = new("--secret") { Description = "A variable of --env-file to store as a secret: encrypted at rest, masked, redacted from output (repeatable)", HelpName = "name" };
    private readonly JobOptions _job = new(shortFollow: false);
    private readonly RolloutStrategyOptions _strategy = new();

    public DeployCommand(CommandServices services)
        : base("deploy", "Deploy a compose file to an agent, or roll it out to several; --follow streams the output and exits 1 if it fails", services)
    {
        Add(_file);
        Add(_project);
        Add(_agents);
        Add(_selector);
        Add(_healthWait);
        Add(_rollbackOnFailure);
        Add(_envFile);
        Add(_secrets);
        _job.AddTo(this);
        _strategy.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var file = context.Parse.GetRequiredValue(_file);
        var agents = context.Value(_agents) ?? [];
        var selector = context.Value(_selector);
        if (selector is not null && agents.Length > 0) throw CliException.Usage("Give --agent or --selector, not both.");
        var rollout = selector is not null || agents.Length > 1;
        if (!rollout && _strategy.FirstGiven(context) is { } strategyFlag)
            throw CliException.Usage($"{strategyFlag} applies to a rollout: add --selector, or several --agent.");
        var secrets = context.Value(_secrets) ?? [];
        var envFile = context.Value(_envFile);
        if (envFile is null && secrets.Length > 0) throw CliException.Usage("--secret names a variable of --env-file; give the file too.");

        // Everything local is checked before anything is sent.
        var compose = await ComposeInput.ReadAsync(file, cancellationToken);
        var project = ComposeInput.ProjectName(context.Value(_project), file, compose);
        IReadOnlyList<KeyValuePair<string, string>> variables = envFile is null ? [] : await EnvFileUpload.ReadAsync(envFile, secrets, cancellationToken);
        if (variables.Count > 0) await EnvFileUpload.SetAsync(context, project, variables, secrets, cancellationToken);

        var composeBase64 = Convert.ToBase64String(compose);
        var healthWait = context.Value(_healthWait);
        if (!rollout)
        {
            var accepted = await context.Api.PostAsync("/deploy", new Dictionary<string, object?>
            {
                ["project_name"] = project,
                ["compose_file_base64"] = composeBase64,
                ["agent_id"] = agents.FirstOrDefault(),
                ["health_wait_seconds"] = healthWait,
                ["rollback_on_failure"] = context.Value(_rollbackOnFailure),
                ["timeout_seconds"] = context.Value(_job.Timeout),
                ["fail_fast"] = context.Value(_job.FailFast),
            }, cancellationToken);
            return await JobRunner.CompleteAsync(context, accepted, _job.Mode(context), $"Deploying {project}", cancellationToken);
        }

        var created = await context.Api.PostAsync("/rollouts", new Dictionary<string, object?>
        {
            ["project_name"] = project,
            ["compose_file_base64"] = composeBase64,
            ["targets"] = selector is not null ? new Dictionary<string, object> { ["selector"] = selector } : new Dictionary<string, object> { ["agent_ids"] = agents },
            ["strategy"] = _strategy.Strategy(context, healthWait),
            ["rollback_on_failure"] = context.Value(_rollbackOnFailure) ? true : null,
            ["timeout_seconds"] = context.Value(_job.Timeout),
        }, cancellationToken);
        var id = RolloutView.Id(created) ?? throw new CliException(ExitCodes.ServerOrNetwork, "The control plane accepted the rollout but named no id.");
        if (_job.Mode(context) == JobMode.Return)
        {
            context.Output.Write(created, () =>
            {
                context.Output.WriteTable(new TableView("ROLLOUT", "PROJECT", "STATE").Add(id, project, RolloutView.State(created)));
                context.Output.Note($"Watch it with `instadeploy rollouts show --watch {id}`.");
            }, () => [id]);
            return ExitCodes.Success;
        }
        context.Output.Note($"Rolling out {project}: rollout {id}");
        return await RolloutWatcher.WatchAsync(context, id, cancellationToken);
    }
}
