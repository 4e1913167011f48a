using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.EnrollmentTokens;

/// <summary><c>instadeploy enrollment-tokens ls</c>: GET /enrollment-tokens (never a token's secret).</summary>
public sealed class EnrollmentTokensListCommand : BaseCommand
{
    public EnrollmentTokensListCommand(CommandServices services) : base("ls", "List enrollment tokens: uses left, expiry", services) => Aliases.Add("list");

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var tokens = await context.Api.GetAllAsync("/enrollment-tokens", cancellationToken);
        context.Output.Write(tokens, () =>
        {
            var table = new TableView("ID", "NAME", "USES LEFT", "CREATED", "EXPIRES", "REVOKED") { EmptyMessage = "No enrollment tokens." };
            foreach (var t in Styles.Items(tokens))
                table.Add(Styles.Text(t, "id"), Styles.Text(t, "name"), Styles.Text(t, "uses_left"), Styles.Time(t, "created_at"), Styles.Time(t, "expires_at"), Styles.Time(t, "revoked_at"));
            context.Output.WriteTable(table);
        }, () => Styles.Items(tokens).Select(t => Styles.Text(t, "id")));
        return ExitCodes.Success;
    }
}
