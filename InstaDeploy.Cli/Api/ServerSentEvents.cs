using System.Runtime.CompilerServices;
using System.Text;

namespace InstaDeploy.Cli.Api;

/// <summary>One Server-Sent Event: its name (default "message"), its data lines joined by '\n', and its id if the
/// server numbered it.</summary>
public sealed record ServerSentEvent(string Event, string Data, string? Id);

/// <summary>Reads the text/event-stream format (https://html.spec.whatwg.org/multipage/server-sent-events.html).</summary>
public static class ServerSentEvents
{
    /// <summary>Largest event accepted: a job's whole log is at most a few MiB.</summary>
    private const int MaxEventChars = 32 * 1024 * 1024;

    public static async IAsyncEnumerable<ServerSentEvent> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? name = null, id = null;
        var data = new StringBuilder();
        var hasData = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (hasData) yield return new ServerSentEvent(name ?? "message", data.ToString(), id);
                name = null;
                data.Clear();
                hasData = false;
                continue;
            }
            if (line[0] == ':') continue; // a comment, e.g. a keep-alive
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' ')) value = value[1..];
            switch (field)
            {
                case "event":
                    name = value;
                    break;
                case "data":
                    if (hasData) data.Append('\n');
                    data.Append(value);
                    hasData = true;
                    if (data.Length > MaxEventChars) throw new InvalidDataException($"an event of over {MaxEventChars} characters");
                    break;
                case "id":
                    // An id persists for the following events until another one replaces it, as the format says.
                    if (!value.Contains('\0')) id = value;
                    break;
            }
        }
    }
}
