using System.CommandLine;
using InstaDeploy.Cli.Commands.Agents;
using InstaDeploy.Cli.Commands.Contexts;
using InstaDeploy.Cli.Commands.Deploy;
using InstaDeploy.Cli.Commands.EnrollmentTokens;
using InstaDeploy.Cli.Commands.Env;
using InstaDeploy.Cli.Commands.Jobs;
using InstaDeploy.Cli.Commands.Keys;
using InstaDeploy.Cli.Commands.Projects;
using InstaDeploy.Cli.Commands.Revisions;
using InstaDeploy.Cli.Commands.Rollouts;

namespace InstaDeploy.Cli.Commands;

/// <summary><c>instadeploy</c>: the global options and every command.</summary>
public sealed class InstaDeployRootCommand : RootCommand
{
    public const string CommandName = "instadeploy";

    public InstaDeployRootCommand(
        GlobalOptions globals,
        ContextCommand context, LoginCommand login, LogoutCommand logout,
        AgentsCommand agents, DeployCommand deploy, StatusCommand status, StopCommand stop, LogsCommand logs,
        JobsCommand jobs, RevisionsCommand revisions, RollbackCommand rollback, EnvCommand env, RolloutsCommand rollouts,
        KeysCommand keys, EnrollmentTokensCommand enrollmentTokens, CompletionCommand completion)
        : base("InstaDeploy: deploy Docker Compose projects to your servers' agents. Exit codes: 0 ok, 1 job/rollout failed, 2 usage, 3 authentication, 4 not found, 5 server or network.")
    {
        // Completion scripts pass the whole line, starting with the command's name, whatever the executable is called.
        Aliases.Add(CommandName);
        foreach (var option in globals.All) Add(option);
        foreach (var command in new Command[] { context, login, logout, agents, deploy, status, stop, logs, jobs, revisions, rollback, env, rollouts, keys, enrollmentTokens, completion })
            Add(command);
    }
}
