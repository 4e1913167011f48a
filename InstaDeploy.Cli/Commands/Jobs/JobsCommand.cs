namespace InstaDeploy.Cli.Commands.Jobs;

/// <summary><c>instadeploy jobs ls|show|logs</c>.</summary>
public sealed class JobsCommand(JobsListCommand list, JobsShowCommand show, JobsLogsCommand logs)
    : GroupCommand("jobs", "Jobs (every command sent to an agent): list, show, output", list, show, logs);
