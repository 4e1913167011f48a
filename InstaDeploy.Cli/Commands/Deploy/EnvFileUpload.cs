using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Input;

namespace InstaDeploy.Cli.Commands.Deploy;

/// <summary>
/// <c>deploy --env-file F [--secret NAME]...</c>: the file's variables set on the project (PUT
/// /deployments/{p}/env/{name}) before the deploy, those named by --secret as secrets. Everything is checked before the
/// first one is sent; values are never printed.
/// </summary>
public static class EnvFileUpload
{
    public static async Task<IReadOnlyList<KeyValuePair<string, string>>> ReadAsync(FileInfo file, IReadOnlyCollection<string> secrets, CancellationToken cancellationToken)
    {
        if (!file.Exists) throw CliException.Usage($"No env file at {file.FullName}.");
        if (file.Length > 16 * 1024 * 1024) throw CliException.Usage($"{file.Name} is over 16 MiB.");
        var variables = DotEnvFile.Parse(await File.ReadAllTextAsync(file.FullName, cancellationToken), file.Name);
        var unknown = secrets.Where(s => variables.All(v => v.Key != s)).ToList();
        if (unknown.Count > 0) throw CliException.Usage($"--secret names {string.Join(", ", unknown)}, which {file.Name} does not set.");
        return variables;
    }

    public static async Task SetAsync(CliContext context, string project, IReadOnlyList<KeyValuePair<string, string>> variables, IReadOnlyCollection<string> secrets, CancellationToken cancellationToken)
    {
        foreach (var (name, value) in variables)
            await context.Api.PutAsync($"/deployments/{InstaDeployApiClient.Escape(project)}/env/{InstaDeployApiClient.Escape(name)}",
                new { value, secret = secrets.Contains(name) }, cancellationToken);
        var secretCount = variables.Count(v => secrets.Contains(v.Key));
        context.Output.Note($"Set {variables.Count} variable{(variables.Count == 1 ? "" : "s")} of {project}{(secretCount > 0 ? $" ({secretCount} secret)" : "")}: {string.Join(", ", variables.Select(v => v.Key))}.");
    }
}
