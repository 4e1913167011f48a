using System.CommandLine;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.EnrollmentTokens;

/// <summary><c>instadeploy enrollment-tokens create NAME [--expires-in S] [--uses N]</c>: POST /enrollment-tokens; the token is shown once.</summary>
public sealed class EnrollmentTokensCreateCommand : BaseCommand
{
    private readonly Argument<string> _name = new("name") { Description = "What it is for, e.g. web-07" };
    private readonly Option<int?> _expiresIn = new("--expires-in") { Description = "Seconds it can be used (60-604800; default 3600)", HelpName = "seconds" };
    private readonly Option<int?> _uses = new("--uses") { Description = "How many agents may enroll with it (1-1000; default 1)", HelpName = "n" };

    public EnrollmentTokensCreateCommand(CommandServices services) : base("create", "Create an enrollment token for new agents; it is shown once", services)
    {
        Add(_name);
        Add(_expiresIn);
        Add(_uses);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var created = await context.Api.PostAsync("/enrollment-tokens",
            new { name = context.Required(_name), expires_in_seconds = context.Value(_expiresIn), uses = context.Value(_uses) }, cancellationToken);
        context.Output.Write(created, () =>
        {
            context.Output.WriteDetails([("id", Styles.Text(created, "id")), ("name", Styles.Text(created, "name")), ("uses", Styles.Text(created, "uses")),
                ("expires", Styles.Time(created, "expires_at")), ("token", Styles.Text(created, "token"))]);
            context.Output.Note("Give the token to the new agent as AGENT_ENROLLMENT_TOKEN; it is shown this once.");
        }, () => [Styles.Text(created, "token")]);
        return ExitCodes.Success;
    }
}
