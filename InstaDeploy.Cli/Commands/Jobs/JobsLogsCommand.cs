using System.CommandLine;
using InstaDeploy.Cli.Api;

namespace InstaDeploy.Cli.Commands.Jobs;

/// <summary><c>instadeploy jobs logs ID [-f]</c>: the job's output, or followed live until it ends (exit 1 if it fails).</summary>
public sealed class JobsLogsCommand : BaseCommand
{
    private readonly Argument<string> _job = new("job") { Description = "The job's id" };
    private readonly Option<bool> _follow = new("--follow", "-f") { Description = "Stream new output until the job ends; exit 1 if it fails" };

    public JobsLogsCommand(CommandServices services) : base("logs", "Print a job's output, or follow it live", services)
    {
        Add(_job);
        Add(_follow);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var id = context.Required(_job);
        var path = $"/jobs/{InstaDeployApiClient.Escape(id)}/logs";
        if (!context.Value(_follow))
        {
            var (text, _) = await context.Api.GetTextAsync(path, cancellationToken);
            await context.Output.WriteTextAsync(text);
            return ExitCodes.Success;
        }
        var end = await context.Follower.FollowAsync(path + "?follow=true", id, context.Output.WriteTextAsync, context.Output.Note, cancellationToken);
        if (end.Succeeded) return ExitCodes.Success;
        context.Output.Error($"Job {id} {end.Status}{(end.Error.Length > 0 ? ": " + end.Error : "")}");
        return ExitCodes.Failed;
    }
}
