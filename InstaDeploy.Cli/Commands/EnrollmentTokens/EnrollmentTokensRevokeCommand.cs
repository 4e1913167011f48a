using System.CommandLine;
using InstaDeploy.Cli.Api;

namespace InstaDeploy.Cli.Commands.EnrollmentTokens;

/// <summary><c>instadeploy enrollment-tokens revoke ID</c>: DELETE /enrollment-tokens/{id}.</summary>
public sealed class EnrollmentTokensRevokeCommand : BaseCommand
{
    private readonly Argument<string> _id = new("id") { Description = "The token's id (`instadeploy enrollment-tokens ls`)" };

    public EnrollmentTokensRevokeCommand(CommandServices services) : base("revoke", "Revoke an enrollment token", services)
    {
        Add(_id);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var id = context.Required(_id);
        await context.Api.DeleteAsync($"/enrollment-tokens/{InstaDeployApiClient.Escape(id)}", cancellationToken);
        context.Output.Note($"Revoked enrollment token {id}.");
        return ExitCodes.Success;
    }
}
