namespace InstaDeploy.Cli.Configuration;

/// <summary>Which control plane a command talks to, with which key, and where each came from.</summary>
/// <param name="Url">The control plane's base URL.</param>
/// <param name="ApiKey">The API key, if one is configured.</param>
/// <param name="Context">The context used, if any.</param>
/// <param name="KeySource">Where the key came from, for messages (never the key itself).</param>
public sealed record Connection(Uri Url, string? ApiKey, string? Context, string KeySource);

/// <summary>
/// Flags over environment over the config file: <c>--url</c> beats everything for the URL; an explicit
/// <c>--context</c> takes that context's URL and key (the environment is then ignored, so a key set for one server is
/// never sent to another); otherwise <c>INSTADEPLOY_URL</c> and <c>INSTADEPLOY_API_KEY</c> override the current
/// context's (the current context being <c>INSTADEPLOY_CONTEXT</c> or the file's <c>current_context</c>).
/// </summary>
public sealed class ConnectionResolver(ConfigStore store, CliEnvironment environment)
{
    public const string UrlVariable = "INSTADEPLOY_URL";
    public const string ApiKeyVariable = "INSTADEPLOY_API_KEY";
    public const string ContextVariable = "INSTADEPLOY_CONTEXT";

    public Connection Resolve(string? contextFlag, string? urlFlag)
    {
        var config = store.LoadConfig();
        string? url, key, context;
        string keySource;
        if (contextFlag is not null)
        {
            context = contextFlag;
            var entry = Find(config, contextFlag, "--context");
            url = urlFlag ?? entry.Url;
            key = StoredKey(contextFlag);
            keySource = $"context '{contextFlag}'";
        }
        else
        {
            context = environment.GetVariable(ContextVariable) ?? config.CurrentContext;
            var entry = context is null ? null
                : environment.GetVariable(ContextVariable) is not null ? Find(config, context, ContextVariable)
                : config.Contexts.GetValueOrDefault(context);
            if (entry is null) context = null;
            url = urlFlag ?? environment.GetVariable(UrlVariable) ?? entry?.Url;
            var fromEnvironment = environment.GetVariable(ApiKeyVariable);
            key = fromEnvironment ?? (context is null ? null : StoredKey(context));
            keySource = fromEnvironment is not null ? ApiKeyVariable : context is not null ? $"context '{context}'" : "";
        }

        if (url is null)
            throw CliException.Usage(
                "No control plane is configured: add one with `instadeploy context add NAME --url URL` and `instadeploy login`, or set INSTADEPLOY_URL and INSTADEPLOY_API_KEY.");
        var parsed = ContextNames.ParseUrl(url, urlFlag is not null ? "--url" : environment.GetVariable(UrlVariable) is not null && contextFlag is null ? UrlVariable : "The context's URL");
        return new Connection(parsed, key, context, keySource);
    }

    /// <summary>The key, or exit code 3 saying how to get one.</summary>
    public static string RequireKey(Connection connection) =>
        connection.ApiKey ?? throw new CliException(ExitCodes.Authentication, connection.Context is { } context
            ? $"No API key for context '{context}': run `instadeploy login --context {context}`, or set INSTADEPLOY_API_KEY."
            : "No API key: run `instadeploy login`, or set INSTADEPLOY_API_KEY.");

    private string? StoredKey(string context) =>
        store.LoadCredentials().Contexts.TryGetValue(context, out var credential) && credential.ApiKey.Length > 0 ? credential.ApiKey : null;

    private static ContextEntry Find(CliConfig config, string name, string source) =>
        config.Contexts.TryGetValue(name, out var entry)
            ? entry
            : throw CliException.Usage($"{source} names no context '{name}'; `instadeploy context ls` lists them ({(config.Contexts.Count == 0 ? "there are none yet" : string.Join(", ", config.Contexts.Keys))}).");
}
