using System.CommandLine;
using System.CommandLine.Completions;
using InstaDeploy.Cli.Configuration;

namespace InstaDeploy.Cli.Commands.Contexts;

internal static class ContextArguments
{
    /// <summary>A context name argument that completes with the names in the config file.</summary>
    public static Argument<string> Name(ConfigStore store, string description)
    {
        var argument = new Argument<string>("name") { Description = description };
        argument.CompletionSources.Add(_ => Names(store));
        return argument;
    }

    private static List<CompletionItem> Names(ConfigStore store)
    {
        try { return store.LoadConfig().Contexts.Keys.Select(k => new CompletionItem(k)).ToList(); }
        catch (CliException) { return []; }
    }

    public static void RequireValid(string name)
    {
        if (!ContextNames.IsValid(name)) throw CliException.Usage($"'{name}' is not a context name: use {ContextNames.Rule}.");
    }
}
