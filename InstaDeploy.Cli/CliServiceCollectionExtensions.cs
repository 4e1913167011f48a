using InstaDeploy.Cli.Commands;
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
using InstaDeploy.Cli.Configuration;
using InstaDeploy.Cli.Input;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace InstaDeploy.Cli;

public static class CliServiceCollectionExtensions
{
    /// <summary>Everything the CLI runs on; TryAdd, so a test can put its own clock or HTTP handler in first.</summary>
    public static IServiceCollection AddInstaDeployCli(this IServiceCollection services, CliEnvironment environment)
    {
        services.AddSingleton(environment);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<Func<HttpMessageHandler>>(() => new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10), PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        services.AddSingleton<ConfigStore>();
        services.AddSingleton<ConnectionResolver>();
        services.AddSingleton<SecretReader>();
        services.AddSingleton<GlobalOptions>();
        services.AddSingleton<CommandServices>();

        services.AddSingleton<ContextAddCommand>().AddSingleton<ContextUseCommand>().AddSingleton<ContextListCommand>().AddSingleton<ContextRemoveCommand>().AddSingleton<ContextCommand>();
        services.AddSingleton<LoginCommand>().AddSingleton<LogoutCommand>();
        services.AddSingleton<AgentsListCommand>().AddSingleton<AgentsShowCommand>().AddSingleton<AgentsHealthCommand>().AddSingleton<AgentsLabelsCommand>()
            .AddSingleton<AgentsRunCommand>().AddSingleton<AgentsRevokeCommand>().AddSingleton<AgentsCommand>();
        services.AddSingleton<DeployCommand>().AddSingleton<StatusCommand>().AddSingleton<StopCommand>().AddSingleton<LogsCommand>().AddSingleton<RollbackCommand>();
        services.AddSingleton<JobsListCommand>().AddSingleton<JobsShowCommand>().AddSingleton<JobsLogsCommand>().AddSingleton<JobsCommand>();
        services.AddSingleton<RevisionsListCommand>().AddSingleton<RevisionsShowCommand>().AddSingleton<RevisionsDiffCommand>().AddSingleton<RevisionsCommand>();
        services.AddSingleton<EnvSetCommand>().AddSingleton<EnvListCommand>().AddSingleton<EnvRemoveCommand>().AddSingleton<EnvCommand>();
        services.AddSingleton<RolloutsListCommand>().AddSingleton<RolloutsShowCommand>().AddSingleton<RolloutsCommand>();
        services.AddSingleton<KeysListCommand>().AddSingleton<KeysCreateCommand>().AddSingleton<KeysRevokeCommand>().AddSingleton<KeysCommand>();
        services.AddSingleton<EnrollmentTokensListCommand>().AddSingleton<EnrollmentTokensCreateCommand>().AddSingleton<EnrollmentTokensRevokeCommand>().AddSingleton<EnrollmentTokensCommand>();
        services.AddSingleton<CompletionCommand>();
        services.AddSingleton<InstaDeployRootCommand>();
        return services;
    }
}
