using System.CommandLine;
using System.Text.Json;
using InstaDeploy.Cli.Commands.Rollouts;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Deploy;

/// <summary>
/// <c>instadeploy deploy -f compose.yml [-p project] [--agent ID | --selector S + strategy] [--env-file F --secret NAME]
/// [--follow]</c>: POST /deploy to one agent, or POST /rollouts to several (by selector or several --agent); with
/// <c>--rollback-to</c> instead of a file, a rollout of what the targets ran before.
/// </summary>
public sealed class DeployCommand : BaseCommand
{
    private readonly Option<FileInfo?> _file = new("--file", "-f") { Description = "The docker-compose file to deploy", HelpName = "compose.yml" };
    private readonly Option<string?> _project = new("--project", "-p") { Description = "The project's name (default: the file's top-level name:, else its folder's name)", HelpName = "name" };
    private readonly Option<string[]> _agents = new("--agent", "-a")
    {
        Description = "The agent to deploy to (default: where the project runs, or the only online agent); repeat for a rollout to several",
        HelpName = "id",
    };
    private readonly Option<string?> _selector = new("--selector", "-l") { Description = "Roll out to every agent whose labels match, e.g. env=prod (see the strategy flags)", HelpName = "selector" };
    private readonly Option<int?> _healthWait = new("--health-wait") { Description = "Seconds to wait for every container to be running and healthy (0: do not wait; server default 60)", HelpName = "seconds" };
    private readonly Option<string?> _rollbackTo = new("--rollback-to")
    {
        Description = "Rollout, instead of -f: deploy again the newest compose file that succeeded on every target (newest_common), or revision N's file",
        HelpName = "newest_common|N",
    };
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
        Add(_rollbackTo);
        Add(_envFile);
        Add(_secrets);
        _job.AddTo(this);
        _strategy.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var file = context.Value(_file);
        var rollbackTo = context.Value(_rollbackTo);
        var agents = context.Value(_agents) ?? [];
        var selector = context.Value(_selector);
        if (selector is not null && agents.Length > 0) throw CliException.Usage("Give --agent or --selector, not both.");
        var rollout = selector is not null || agents.Length > 1;
        if (!rollout && (_strategy.FirstGiven(context) ?? (rollbackTo is null ? null : "--rollback-to")) is { } rolloutFlag)
            throw CliException.Usage($"{rolloutFlag} applies to a rollout: add --selector, or several --agent.");
        if ((file is null) == (rollbackTo is null))
            throw CliException.Usage(rollbackTo is null
                ? "Give the compose file to deploy with -f FILE (or, for a rollout, --rollback-to newest_common|REVISION)."
                : "--rollback-to deploys files the targets ran before: leave -f out.");
        if (rollbackTo is not null && context.Value(_project) is null) throw CliException.Usage("--rollback-to needs the project: add -p PROJECT.");
        if (rollout)
        {
            RolloutLauncher.RefuseSingleAgentFlags(context, _job);
            if (context.Value(_rollbackOnFailure))
                throw CliException.Usage("--rollback-on-failure is for one agent; a rollout takes --on-failure rollback (every target deployed gets its previous revision back).");
        }
        var secrets = context.Value(_secrets) ?? [];
        var envFile = context.Value(_envFile);
        if (envFile is null && secrets.Length > 0) throw CliException.Usage("--secret names a variable of --env-file; give the file too.");

        // Everything local is checked before anything is sent.
        var compose = file is null ? null : await ComposeInput.ReadAsync(file, cancellationToken);
        var project = file is null ? context.Value(_project)! : ComposeInput.ProjectName(context.Value(_project), file, compose!);
        object? rollbackSpec = rollbackTo is null ? null : RollbackTo(rollbackTo);
        IReadOnlyList<KeyValuePair<string, string>> variables = envFile is null ? [] : await EnvFileUpload.ReadAsync(envFile, secrets, cancellationToken);
        var strategy = rollout ? _strategy.Strategy(context, context.Value(_healthWait)) : null;
        if (variables.Count > 0) await EnvFileUpload.SetAsync(context, project, variables, secrets, cancellationToken);

        var composeBase64 = compose is null ? null : Convert.ToBase64String(compose);
        if (!rollout)
        {
            var accepted = await context.Api.PostAsync("/deploy", new Dictionary<string, object?>
            {
                ["project_name"] = project,
                ["compose_file_base64"] = composeBase64,
                ["agent_id"] = agents.FirstOrDefault(),
                ["health_wait_seconds"] = context.Value(_healthWait),
                ["rollback_on_failure"] = context.Value(_rollbackOnFailure),
                ["timeout_seconds"] = context.Value(_job.Timeout),
                ["queue_ttl_seconds"] = context.Value(_job.QueueTtl),
                ["fail_fast"] = context.Value(_job.FailFast),
            }, cancellationToken);
            return await JobRunner.CompleteAsync(context, accepted, _job.Mode(context), $"Deploying {project}", cancellationToken);
        }

        return await RolloutLauncher.StartAsync(context, new Dictionary<string, object?>
        {
            ["project_name"] = project,
            ["compose_file_base64"] = composeBase64,
            ["rollback_to"] = rollbackSpec,
            ["targets"] = RolloutLauncher.Targets(selector, agents),
            ["strategy"] = strategy,
            ["timeout_seconds"] = context.Value(_job.Timeout),
            ["queue_ttl_seconds"] = context.Value(_job.QueueTtl),
        }, _job.Mode(context), context.Value(_strategy.UntilPromotion), cancellationToken);
    }

    /// <summary>"newest_common" as text, a revision as a number; the server checks both.</summary>
    internal static object RollbackTo(string given) =>
        int.TryParse(given, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var revision) ? revision
        : given == "newest_common" ? given
        : throw CliException.Usage($"--rollback-to takes newest_common (the newest compose file that succeeded on every target) or a revision number, not '{given}'.");
}
