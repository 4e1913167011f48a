using System.Net.Http.Headers;
using System.Text;

namespace InstaDeploy.Testing;

/// <summary>One Server-Sent Event as a client parses it (the WHATWG rules: LF, CR or CRLF end a line).</summary>
public sealed record SseEvent(string? Id, string Name, string Data)
{
    /// <summary>The data's lines.</summary>
    public string[] Lines => Data.Split('\n');
}

/// <summary>A Server-Sent Events reader over a real HTTP response, written from the SSE format alone.</summary>
public sealed class SseClient : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseClient(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body, Encoding.UTF8);
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Opens the stream; with <paramref name="lastEventId"/>, as a client reconnecting after that event.</summary>
    public static async Task<SseClient> OpenAsync(HttpClient client, string path, string? lastEventId = null, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        return new SseClient(response, await response.Content.ReadAsStreamAsync(cancellationToken));
    }

    /// <summary>The next event, or null when the stream ended. Comments are skipped.</summary>
    public async Task<SseEvent?> NextAsync(CancellationToken cancellationToken = default)
    {
        string? id = null, name = null;
        var data = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            if (line is null) return null;
            if (line.Length == 0)
            {
                if (data.Count == 0 && name is null) continue;
                return new SseEvent(id, name ?? "message", string.Join('\n', data));
            }
            if (line.StartsWith(':')) continue;
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' ')) value = value[1..];
            switch (field)
            {
                case "id": id = value; break;
                case "event": name = value; break;
                case "data": data.Add(value); break;
            }
        }
    }

    /// <summary>Every event until <c>end</c> (included) or the stream ends.</summary>
    public async Task<List<SseEvent>> ReadToEndAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        var events = new List<SseEvent>();
        while (await NextAsync(limit.Token) is { } next)
        {
            events.Add(next);
            if (next.Name == "end") break;
        }
        return events;
    }

    // The SSE format ends a line at LF, CR or CRLF; StreamReader.ReadLine does the same.
    private async Task<string?> ReadLineAsync(CancellationToken cancellationToken) => await _reader.ReadLineAsync(cancellationToken);

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
