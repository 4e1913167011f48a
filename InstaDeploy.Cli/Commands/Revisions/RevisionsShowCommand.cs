using System.CommandLine;
using System.Text;
using System.Text.Json;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Commands.Projects;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Revisions;

/// <summary><c>instadeploy revisions show PROJECT N [--compose]</c>: GET /deployments/{p}/revisions/{n}.</summary>
public sealed class RevisionsShowCommand : BaseCommand
{
    private readonly Argument<string> _project = ProjectArguments.Project();
    private readonly Argument<int> _revision = new("revision") { Description = "The revision number" };
    private readonly Option<bool> _compose = new("--compose") { Description = "Print only the compose file it deployed" };

    public RevisionsShowCommand(CommandServices services) : base("show", "Show one revision and its compose file", services)
    {
        Add(_project);
        Add(_revision);
        Add(_compose);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var revision = await GetAsync(context, context.Required(_project), context.Required(_revision), cancellationToken);
        if (context.Value(_compose) && !context.Output.IsJson)
        {
            await context.Output.WriteTextAsync(ComposeText(revision));
            return ExitCodes.Success;
        }
        context.Output.Write(revision, () =>
        {
            context.Output.WriteDetails([
                ("revision", Styles.Text(revision, "revision")),
                ("project", Styles.Text(revision, "project_name")),
                ("agent", Styles.Text(revision, "agent_id")),
                ("outcome", Styles.Text(revision, "outcome")),
                ("current", Styles.Text(revision, "current")),
                ("job", Styles.Text(revision, "job_id")),
                ("created", Styles.Time(revision, "created_at")),
                ("created by", Styles.Text(revision, "created_by")),
                ("finished", Styles.Time(revision, "finished_at")),
                ("rollback of", Styles.Text(revision, "rollback_of")),
                ("rolled back to", Styles.Text(revision, "rolled_back_to")),
                ("variables", Styles.Text(revision, "variables")),
                ("compose sha256", Styles.Text(revision, "compose_sha256")),
            ]);
            context.Output.Stdout.WriteLine();
            context.Output.Stdout.Write(ComposeText(revision));
        }, () => [Styles.Text(revision, "revision")]);
        return ExitCodes.Success;
    }

    internal static Task<JsonElement> GetAsync(CliContext context, string project, int number, CancellationToken cancellationToken) =>
        context.Api.GetAsync($"/deployments/{InstaDeployApiClient.Escape(project)}/revisions/{number}", cancellationToken);

    internal static string ComposeText(JsonElement revision)
    {
        var base64 = Styles.Text(revision, "compose_file_base64") ?? "";
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(base64));
        }
        catch (FormatException)
        {
            throw new CliException(ExitCodes.ServerOrNetwork, "The revision's compose_file_base64 is not base64.");
        }
    }
}
