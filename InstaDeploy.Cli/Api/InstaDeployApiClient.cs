using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace InstaDeploy.Cli.Api;

/// <summary>
/// The control plane's REST API. Answers come back as the API's own JSON (commands print it as is for
/// <c>--output json</c>); an error answer throws <see cref="ApiException"/>, an unreachable server a
/// <see cref="CliException"/> with <see cref="ExitCodes.ServerOrNetwork"/>.
/// </summary>
public sealed partial class InstaDeployApiClient(HttpClient http, Uri baseUrl)
{
    /// <summary>How long one ordinary request may take (container logs may take the server 65 s).</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(100);

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public Uri BaseUrl { get; } = baseUrl;

    public Task<JsonElement> GetAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, null, cancellationToken);

    public Task<JsonElement> PostAsync(string path, object? body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, path, body ?? new { }, cancellationToken);

    public Task<JsonElement> PutAsync(string path, object body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, path, body, cancellationToken);

    public Task<JsonElement> DeleteAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, path, null, cancellationToken);

    /// <summary>One request; the JSON answer, or <c>default</c> (Undefined) for an empty one such as 204.</summary>
    public async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var request = new HttpRequestMessage(method, Address(path));
        if (body is not null) request.Content = JsonContent.Create(body, options: Json);
        using var response = await SendCoreAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token, cancellationToken);
        var text = await ReadAsync(response, timeout.Token);
        if (!response.IsSuccessStatusCode) throw ApiException.From(response.StatusCode, method.Method, PathOnly(path), text);
        if (string.IsNullOrWhiteSpace(text)) return default;
        try
        {
            return JsonElement.Parse(text);
        }
        catch (JsonException e)
        {
            throw new CliException(ExitCodes.ServerOrNetwork, $"{BaseUrl} answered {method.Method} {PathOnly(path)} with something that is not JSON ({e.Message}); is the URL the control plane's?");
        }
    }

    /// <summary>
    /// Every item of a paged list (a JSON array per page): the first page, then the next ones by each page's
    /// X-Next-Cursor, as one array. The cursor is added to <paramref name="path"/> here rather than the Link header
    /// followed, since behind a reverse proxy the server's own path may not be this client's.
    /// </summary>
    public async Task<JsonElement> GetAllAsync(string path, CancellationToken cancellationToken)
    {
        var items = new List<JsonElement>();
        string? cursor = null;
        for (var page = 0; page < MaxPages; page++)
        {
            var (text, headers) = await GetTextAsync(cursor is null ? path : $"{path}{(path.Contains('?') ? '&' : '?')}cursor={Uri.EscapeDataString(cursor)}", cancellationToken);
            JsonElement answer;
            try
            {
                answer = JsonElement.Parse(text);
            }
            catch (JsonException e)
            {
                throw new CliException(ExitCodes.ServerOrNetwork, $"{BaseUrl} answered GET {PathOnly(path)} with something that is not JSON ({e.Message}); is the URL the control plane's?");
            }
            if (answer.ValueKind != JsonValueKind.Array) return answer;
            items.AddRange(answer.EnumerateArray());
            if (!headers.TryGetValues("X-Next-Cursor", out var next) || next.FirstOrDefault() is not { Length: > 0 } nextCursor) break;
            cursor = nextCursor;
        }
        return JsonSerializer.SerializeToElement(items, Json);
    }

    /// <summary>Pages <see cref="GetAllAsync"/> reads at most: a million items at the lists' largest page.</summary>
    private const int MaxPages = 1000;

    /// <summary>A text answer (job logs, container logs).</summary>
    public async Task<(string Text, HttpResponseHeaders Headers)> GetTextAsync(string path, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, Address(path));
        using var response = await SendCoreAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token, cancellationToken);
        var text = await ReadAsync(response, timeout.Token);
        if (!response.IsSuccessStatusCode) throw ApiException.From(response.StatusCode, "GET", PathOnly(path), text);
        return (text, response.Headers);
    }

    /// <summary>Opens a Server-Sent Events stream; the caller disposes the response. <paramref name="lastEventId"/>
    /// resumes a stream the server numbered with <c>id:</c> lines.</summary>
    public async Task<HttpResponseMessage> OpenEventStreamAsync(string path, string? lastEventId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Address(path));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null) request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        using var headersTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        headersTimeout.CancelAfter(RequestTimeout);
        var response = await SendCoreAsync(request, HttpCompletionOption.ResponseHeadersRead, headersTimeout.Token, cancellationToken);
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            throw ApiException.From(response.StatusCode, "GET", PathOnly(path), await response.Content.ReadAsStringAsync(cancellationToken));
        }
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken timeout, CancellationToken caller)
    {
        try
        {
            return await http.SendAsync(request, completion, timeout);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.ServerOrNetwork, $"{BaseUrl} did not answer {request.Method} {PathOnly(request.RequestUri!.PathAndQuery)} within {RequestTimeout.TotalSeconds:0} s.");
        }
    }

    private async Task<string> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw Unreachable(e);
        }
    }

    public CliException Unreachable(Exception e) =>
        new(ExitCodes.ServerOrNetwork,
            $"Cannot reach the control plane at {BaseUrl}: {ApiException.OneLine(e.Message)} Check the URL (`instadeploy context ls`, INSTADEPLOY_URL or --url) and that it runs.", e);

    /// <summary>The base URL may carry a path (behind a reverse proxy); API paths are relative to it.</summary>
    private Uri Address(string path) => new(BaseUrl.ToString().TrimEnd('/') + path);

    private static string PathOnly(string path) => path.Split('?')[0];

    public static string Escape(string segment) => Uri.EscapeDataString(segment);

    public static string Query(params (string Name, string? Value)[] parameters)
    {
        var given = parameters.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return given.Count == 0 ? "" : "?" + string.Join('&', given);
    }
}
