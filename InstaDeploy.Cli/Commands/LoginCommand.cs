using System.Net.Http.Headers;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Configuration;

namespace InstaDeploy.Cli.Commands;

/// <summary>
/// <c>instadeploy login [--context NAME] [--url URL]</c>: reads an API key from a prompt that does not echo, or from
/// standard input, checks it against the control plane, and stores it (owner-only credentials.json) for the context.
/// Never from an argument: it would stay in the shell history and in <c>ps</c>.
/// </summary>
public sealed class LoginCommand : BaseCommand
{
    public const string DefaultContext = "default";

    public LoginCommand(CommandServices services)
        : base("login", "Store an API key for a context, read from a prompt or standard input (never an argument), after checking it", services)
    {
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var store = Services.Config;
        var config = store.LoadConfig();
        var name = context.Value(Services.Globals.Context) ?? config.CurrentContext ?? DefaultContext;
        Contexts.ContextArguments.RequireValid(name);
        var urlText = context.Value(Services.Globals.Url) ?? (config.Contexts.TryGetValue(name, out var entry) ? entry.Url : null)
            ?? throw CliException.Usage($"Context '{name}' has no URL: `instadeploy context add {name} URL` first, or `instadeploy login --url URL`.");
        var url = ContextNames.ParseUrl(urlText, "The URL");

        var key = (await Services.Secrets.ReadAsync($"API key for {name} ({url}): ", "API key", cancellationToken)).Trim();
        if (key.Length == 0) throw CliException.Usage("No API key given: type it at the prompt, or pipe it in (`printenv MY_KEY | instadeploy login`).");
        if (key.Any(char.IsWhiteSpace) || key.Any(char.IsControl)) throw CliException.Usage("An API key has no spaces or control characters; check what was pasted.");

        using (var http = new HttpClient(Services.HttpHandlers(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan })
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            try
            {
                await new InstaDeployApiClient(http, url).GetAsync("/agents", cancellationToken);
            }
            catch (ApiException e) when (e.Status == 401)
            {
                throw new CliException(ExitCodes.Authentication, $"{url} refused this API key (401): it is unknown, revoked or expired. Nothing was stored.");
            }
        }

        config.Contexts[name] = new ContextEntry { Url = url.AbsoluteUri.TrimEnd('/') };
        if (config.CurrentContext is null || !config.Contexts.ContainsKey(config.CurrentContext)) config.CurrentContext = name;
        store.SaveConfig(config);
        var credentials = store.LoadCredentials();
        credentials.Contexts[name] = new CredentialEntry { ApiKey = key };
        store.SaveCredentials(credentials);
        context.Output.Note($"Logged in to {url} as context '{name}'{(config.CurrentContext == name ? " (current)" : "")}; the key is in {store.CredentialsPath} (owner-only).");
        return ExitCodes.Success;
    }
}
