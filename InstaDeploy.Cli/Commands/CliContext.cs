using System.CommandLine;
using System.Net.Http.Headers;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Configuration;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands;

/// <summary>One run of one command: its parsed arguments, its output, and (made when first used) its API client.</summary>
public sealed class CliContext(ParseResult parse, CliOutput output, CommandServices services) : IDisposable
{
    private HttpClient? _http;
    private InstaDeployApiClient? _api;
    private Connection? _connection;

    public ParseResult Parse { get; } = parse;

    public CliOutput Output { get; } = output;

    public CommandServices Services { get; } = services;

    public T? Value<T>(Option<T> option) => Parse.GetValue(option);

    public T? Value<T>(Argument<T> argument) => Parse.GetValue(argument);

    public T Required<T>(Argument<T> argument) => Parse.GetRequiredValue(argument);

    /// <summary>The control plane and key this run uses (flags over environment over the config file).</summary>
    public Connection Connection => _connection ??= Services.Connections.Resolve(Value(Services.Globals.Context), Value(Services.Globals.Url));

    public InstaDeployApiClient Api
    {
        get
        {
            if (_api is not null) return _api;
            var key = ConnectionResolver.RequireKey(Connection);
            if (Connection.Url.Scheme == "http" && !Connection.Url.IsLoopback)
                Output.Warning($"{Connection.Url} is plain http: the API key crosses the network unencrypted. Use https:// outside a trusted network.");
            _http = new HttpClient(Services.HttpHandlers(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("instadeploy-cli", CliApplication.Version));
            return _api = new InstaDeployApiClient(_http, Connection.Url);
        }
    }

    public JobFollower Follower => new(Api, Services.Time);

    public void Dispose() => _http?.Dispose();
}
