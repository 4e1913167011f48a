using System.CommandLine;
using InstaDeploy.Cli.Api;

namespace InstaDeploy.Cli.Commands.Keys;

/// <summary><c>instadeploy keys revoke ID</c>: DELETE /api-keys/{id}.</summary>
public sealed class KeysRevokeCommand : BaseCommand
{
    private readonly Argument<string> _id = new("id") { Description = "The key's id (`instadeploy keys ls`), not the key itself" };

    public KeysRevokeCommand(CommandServices services) : base("revoke", "Revoke an API key; it stops working on the next request", services)
    {
        Add(_id);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var id = context.Required(_id);
        await context.Api.DeleteAsync($"/api-keys/{InstaDeployApiClient.Escape(id)}", cancellationToken);
        context.Output.Note($"Revoked API key {id}.");
        return ExitCodes.Success;
    }
}
