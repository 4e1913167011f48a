using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Keys;

/// <summary><c>instadeploy keys ls</c>: GET /api-keys (never a key's secret).</summary>
public sealed class KeysListCommand : BaseCommand
{
    public KeysListCommand(CommandServices services) : base("ls", "List API keys: name, scopes, expiry, whether active", services) => Aliases.Add("list");

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var keys = await context.Api.GetAllAsync("/api-keys", cancellationToken);
        context.Output.Write(keys, () =>
        {
            var table = new TableView("ID", "NAME", "SCOPES", "ACTIVE", "CREATED", "EXPIRES", "REVOKED");
            foreach (var k in Styles.Items(keys))
                table.Add(Styles.Text(k, "id"), Styles.Text(k, "name"), Styles.Text(k, "scopes"), Styles.Text(k, "active"), Styles.Time(k, "created_at"), Styles.Time(k, "expires_at"), Styles.Time(k, "revoked_at"));
            context.Output.WriteTable(table);
        }, () => Styles.Items(keys).Select(k => Styles.Text(k, "id")));
        return ExitCodes.Success;
    }
}
