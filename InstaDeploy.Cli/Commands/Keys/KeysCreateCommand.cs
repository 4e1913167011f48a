using System.CommandLine;
using System.Globalization;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Keys;

/// <summary>
/// <c>instadeploy keys create NAME --scope S [--expires T]</c>: POST /api-keys. The new key is printed once, on standard
/// output only (with --quiet, nothing else), so it can go straight into a CI secret store.
/// </summary>
public sealed class KeysCreateCommand : BaseCommand
{
    private readonly Argument<string> _name = new("name") { Description = "What the key is for, e.g. ci-pipeline" };
    private readonly Option<string[]> _scopes = new Option<string[]>("--scope") { Description = "read, deploy (includes read) or admin (includes deploy); repeatable", Required = true, HelpName = "scope" }
        .AcceptOnlyFromAmong("read", "deploy", "admin");
    private readonly Option<string?> _expires = new("--expires") { Description = "When it stops working: a date/time (2027-06-30, 2027-06-30T12:00:00Z) or a duration (90d, 12h)", HelpName = "when" };

    public KeysCreateCommand(CommandServices services) : base("create", "Create an API key; it is shown once", services)
    {
        Add(_name);
        Add(_scopes);
        Add(_expires);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var expires = context.Value(_expires) is { } text ? ParseExpiry(text, Services.Time.GetUtcNow()) : (DateTimeOffset?)null;
        var created = await context.Api.PostAsync("/api-keys", new { name = context.Required(_name), scopes = context.Value(_scopes), expires_at = expires }, cancellationToken);
        context.Output.Write(created, () =>
        {
            context.Output.WriteDetails([("id", Styles.Text(created, "id")), ("name", Styles.Text(created, "name")), ("scopes", Styles.Text(created, "scopes")),
                ("expires", Styles.Time(created, "expires_at") ?? "never"), ("key", Styles.Text(created, "key"))]);
            context.Output.Note("The key is shown this once; store it now (e.g. in your CI's secret store).");
        }, () => [Styles.Text(created, "key")]);
        return ExitCodes.Success;
    }

    internal static DateTimeOffset ParseExpiry(string text, DateTimeOffset now)
    {
        if (text.Length > 1 && int.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            switch (text[^1])
            {
                case 'd': return now.AddDays(amount);
                case 'h': return now.AddHours(amount);
                case 'm': return now.AddMinutes(amount);
            }
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when)) return when;
        throw CliException.Usage($"--expires '{text}' is neither a date/time (2027-06-30T00:00:00Z) nor a duration (90d, 12h, 30m).");
    }
}
