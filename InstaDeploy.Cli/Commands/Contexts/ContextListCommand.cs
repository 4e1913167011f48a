using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Contexts;

/// <summary><c>instadeploy context ls</c>: the contexts, which is current, and whether each has a key (never the key).</summary>
public sealed class ContextListCommand : BaseCommand
{
    public ContextListCommand(CommandServices services) : base("ls", "List the contexts", services) => Aliases.Add("list");

    protected override Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var config = Services.Config.LoadConfig();
        var credentials = Services.Config.LoadCredentials();
        var rows = config.Contexts.Select(c => new ContextView(c.Key, c.Value.Url, c.Key == config.CurrentContext,
            credentials.Contexts.TryGetValue(c.Key, out var key) && key.ApiKey.Length > 0)).ToList();
        if (context.Output.IsJson) context.Output.WriteJson(new { current_context = config.CurrentContext, contexts = rows });
        else if (context.Output.Quiet) context.Output.WriteIds(rows.Select(r => r.Name));
        else
        {
            var table = new TableView("CURRENT", "NAME", "URL", "LOGGED IN") { EmptyMessage = "No contexts yet: add one with `instadeploy context add NAME URL`." };
            foreach (var row in rows) table.Add(row.Current ? "*" : "", row.Name, row.Url, row.LoggedIn ? "yes" : "no");
            context.Output.WriteTable(table);
        }
        return Task.FromResult(ExitCodes.Success);
    }

    private sealed record ContextView(string Name, string Url, bool Current, bool LoggedIn);
}
