using System.CommandLine;
using InstaDeploy.Cli.Api;

namespace InstaDeploy.Cli.Commands.Projects;

/// <summary>
/// <c>instadeploy logs PROJECT [-f] [--tail N] [--since T] [--service S]</c>: the project's container logs, read on its
/// agent (GET /deployments/{p}/logs); with -f, new lines as they are printed (Server-Sent Events), resumed if the
/// connection drops. The output is the logs' text whatever --output says.
/// </summary>
public sealed class LogsCommand : BaseCommand
{
    public const int DefaultFollowSeconds = 600;

    private readonly Argument<string> _project = ProjectArguments.Project();
    private readonly Option<bool> _follow = new("--follow", "-f") { Description = "Keep printing new lines (for --follow-seconds)" };
    private readonly Option<int?> _tail = new("--tail", "-n") { Description = "Lines from the end of each container's log (server default 100, max 10000)", HelpName = "lines" };
    private readonly Option<string?> _since = new("--since") { Description = "Only lines newer than this: 30s, 10m, 1h30m, a Unix time or an RFC 3339 time", HelpName = "time" };
    private readonly Option<string?> _service = new("--service", "-s") { Description = "Only this compose service's containers", HelpName = "service" };
    private readonly Option<bool> _timestamps = new("--timestamps", "-t") { Description = "Prefix each line with its time" };
    private readonly Option<int> _followSeconds = new("--follow-seconds")
    {
        Description = $"How long -f follows (1-3600; default {DefaultFollowSeconds}): the agent keeps one log reader open for that long",
        DefaultValueFactory = _ => DefaultFollowSeconds,
        HelpName = "seconds",
    };
    private readonly Option<string?> _agent = ProjectArguments.Agent();

    public LogsCommand(CommandServices services) : base("logs", "Show or follow a project's container logs", services)
    {
        Add(_project);
        Add(_follow);
        Add(_tail);
        Add(_since);
        Add(_service);
        Add(_timestamps);
        Add(_followSeconds);
        Add(_agent);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var follow = context.Value(_follow);
        var path = $"/deployments/{InstaDeployApiClient.Escape(context.Required(_project))}/logs" + InstaDeployApiClient.Query(
            ("agent_id", context.Value(_agent)),
            ("tail", context.Value(_tail)?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("since", context.Value(_since)),
            ("service", context.Value(_service)),
            ("timestamps", context.Value(_timestamps) ? "true" : null),
            ("follow", follow ? "true" : null),
            ("follow_seconds", follow ? context.Value(_followSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) : null));
        if (!follow)
        {
            var (text, _) = await context.Api.GetTextAsync(path, cancellationToken);
            await context.Output.WriteTextAsync(text);
            return ExitCodes.Success;
        }
        var end = await context.Follower.FollowAsync(path, null, context.Output.WriteTextAsync, context.Output.Note, cancellationToken);
        if (end.Succeeded) return ExitCodes.Success;
        context.Output.Error($"Reading the logs ended {end.Status}: {end.Error}");
        return ExitCodes.Failed;
    }
}
