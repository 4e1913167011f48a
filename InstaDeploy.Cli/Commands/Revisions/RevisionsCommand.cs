namespace InstaDeploy.Cli.Commands.Revisions;

/// <summary><c>instadeploy revisions ls|show|diff</c>.</summary>
public sealed class RevisionsCommand(RevisionsListCommand list, RevisionsShowCommand show, RevisionsDiffCommand diff)
    : GroupCommand("revisions", "A project's deploy history: list, show (with its compose file), diff two", list, show, diff);
