using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;
using InstaDeploy.Cli.Commands;
using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.Cli;

/// <summary>Parses and runs one command line: as the installed tool (<see cref="Program"/>) or in a test's process.</summary>
public static class CliApplication
{
    public static string Version { get; } =
        typeof(CliApplication).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <param name="args">The arguments, without the program's name.</param>
    /// <param name="environment">Console, environment variables and home folder.</param>
    /// <param name="configure">Replaces services (a test's clock or HTTP handler).</param>
    /// <param name="handleTermination">Whether Ctrl+C and SIGTERM cancel the command (the real process only).</param>
    /// <param name="cancellationToken">Cancels the command as Ctrl+C would.</param>
    public static async Task<int> RunAsync(string[] args, CliEnvironment environment, Action<IServiceCollection>? configure = null,
        bool handleTermination = false, CancellationToken cancellationToken = default)
    {
        var services = new ServiceCollection();
        configure?.Invoke(services);
        services.AddInstaDeployCli(environment);
        await using var provider = services.BuildServiceProvider();
        var root = provider.GetRequiredService<InstaDeployRootCommand>();
        var parse = root.Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors) await environment.Error.WriteLineAsync("error: " + error.Message);
            var command = parse.CommandResult.Command;
            var path = string.Join(' ', new[] { InstaDeployRootCommand.CommandName }.Concat(Ancestry(command).Select(c => c.Name)));
            await environment.Error.WriteLineAsync($"See `{path} --help`.");
            return ExitCodes.Usage;
        }
        return await parse.InvokeAsync(new InvocationConfiguration
        {
            Output = environment.Output,
            Error = environment.Error,
            EnableDefaultExceptionHandler = true,
            ProcessTerminationTimeout = handleTermination ? TimeSpan.FromSeconds(2) : null,
        }, cancellationToken);
    }

    private static List<Command> Ancestry(Command command)
    {
        var chain = new List<Command>();
        for (var current = command; current is not null and not RootCommand; current = current.Parents.OfType<Command>().FirstOrDefault())
            chain.Insert(0, current);
        return chain;
    }
}
