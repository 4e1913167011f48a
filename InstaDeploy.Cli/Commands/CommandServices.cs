using System.CommandLine;
using InstaDeploy.Cli.Configuration;
using InstaDeploy.Cli.Input;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands;

/// <summary>What every command needs, from DI; a test replaces any part (the HTTP handler, the clock).</summary>
public sealed class CommandServices(
    CliEnvironment environment, GlobalOptions globals, ConfigStore config, ConnectionResolver connections,
    SecretReader secrets, TimeProvider time, Func<HttpMessageHandler> httpHandlers)
{
    public CliEnvironment Environment { get; } = environment;

    public GlobalOptions Globals { get; } = globals;

    public ConfigStore Config { get; } = config;

    public ConnectionResolver Connections { get; } = connections;

    public SecretReader Secrets { get; } = secrets;

    public TimeProvider Time { get; } = time;

    public Func<HttpMessageHandler> HttpHandlers { get; } = httpHandlers;

    public CliOutput CreateOutput(ParseResult parse) => new(
        Environment, parse.GetValue(Globals.Output) == "json" ? OutputFormat.Json : OutputFormat.Table, parse.GetValue(Globals.Quiet), parse.GetValue(Globals.NoColor));
}
