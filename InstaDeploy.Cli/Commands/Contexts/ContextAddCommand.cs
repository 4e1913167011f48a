using System.CommandLine;
using InstaDeploy.Cli.Configuration;

namespace InstaDeploy.Cli.Commands.Contexts;

/// <summary><c>instadeploy context add NAME --url URL [--use]</c>.</summary>
public sealed class ContextAddCommand : BaseCommand
{
    private readonly Argument<string> _name = new("name") { Description = $"The context's name ({ContextNames.Rule})" };
    private readonly Argument<string?> _url = new("url") { Description = "The control plane's URL, e.g. https://deploy.example.com (or give it as --url)", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<bool> _use = new("--use") { Description = "Make it the current context (the first context added always is)" };

    public ContextAddCommand(CommandServices services) : base("add", "Add or update a context: a name for a control plane's URL; then `instadeploy login`", services)
    {
        Add(_name);
        Add(_url);
        Add(_use);
    }

    protected override Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var name = context.Required(_name);
        ContextArguments.RequireValid(name);
        var given = context.Value(_url) ?? context.Value(Services.Globals.Url)
            ?? throw CliException.Usage($"Give the control plane's URL: `instadeploy context add {name} https://deploy.example.com`.");
        var url = ContextNames.ParseUrl(given, "The URL");
        var store = Services.Config;
        var config = store.LoadConfig();
        var existed = config.Contexts.ContainsKey(name);
        config.Contexts[name] = new ContextEntry { Url = url.AbsoluteUri.TrimEnd('/') };
        if (context.Value(_use) || config.CurrentContext is null || !config.Contexts.ContainsKey(config.CurrentContext)) config.CurrentContext = name;
        store.SaveConfig(config);
        context.Output.Write(default, () => { }, () => [name]);
        context.Output.Note($"{(existed ? "Updated" : "Added")} context '{name}' ({url}){(config.CurrentContext == name ? ", now current" : "")}. Log in with `instadeploy login --context {name}`.");
        return Task.FromResult(ExitCodes.Success);
    }
}
