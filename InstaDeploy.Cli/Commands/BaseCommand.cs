using System.CommandLine;

namespace InstaDeploy.Cli.Commands;

/// <summary>
/// A command that does something: its action gets a <see cref="CliContext"/>, and every failure ends as one line on
/// standard error and the exit code that says what kind it was.
/// </summary>
public abstract class BaseCommand : Command
{
    protected BaseCommand(string name, string description, CommandServices services) : base(name, description)
    {
        Services = services;
        SetAction(InvokeAsync);
    }

    protected CommandServices Services { get; }

    protected abstract Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken);

    private async Task<int> InvokeAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = Services.CreateOutput(parse);
        using var context = new CliContext(parse, output, Services);
        try
        {
            return await ExecuteAsync(context, cancellationToken);
        }
        catch (CliException e)
        {
            output.Error(e.Message);
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            output.Error("Interrupted.");
            return ExitCodes.Interrupted;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not 1: a CI step must not read a fault of the CLI as "the deploy failed".
            output.Error($"instadeploy failed unexpectedly ({e.GetType().Name}: {e.Message}); please report it with the command you ran.");
            return ExitCodes.InternalError;
        }
    }
}

/// <summary>A command that only groups others (<c>agents</c>, <c>jobs</c>…): run alone, it says which to pick.</summary>
public abstract class GroupCommand : Command
{
    protected GroupCommand(string name, string description, params Command[] subcommands) : base(name, description)
    {
        foreach (var subcommand in subcommands) Add(subcommand);
        SetAction(parse =>
        {
            var error = parse.InvocationConfiguration.Error;
            error.WriteLine($"error: `instadeploy {name}` needs a subcommand: {string.Join(", ", subcommands.Where(c => !c.Hidden).Select(c => c.Name))}. See `instadeploy {name} --help`.");
            return ExitCodes.Usage;
        });
    }
}
