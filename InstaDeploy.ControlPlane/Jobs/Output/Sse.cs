using System.Text;

namespace InstaDeploy.ControlPlane.Jobs.Output;

/// <summary>
/// Server-Sent Events framing. Every line of text becomes its own <c>data:</c> line, and a carriage return counts as a
/// line end as the SSE parser counts it, so output from an agent can never start a field or an event of its own.
/// </summary>
public static class Sse
{
    /// <summary>One event: <c>id</c> (when given), <c>event</c>, a <c>data</c> line per line, a blank line.</summary>
    public static byte[] Encode(string name, IEnumerable<string> lines, long? id)
    {
        var text = new StringBuilder(256);
        if (id is { } value) text.Append("id: ").Append(value).Append('\n');
        text.Append("event: ").Append(name).Append('\n');
        foreach (var line in lines) AppendData(text, line);
        text.Append('\n');
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>One event whose data is a single text, split into data lines at every line end (LF, CR or CRLF).</summary>
    public static byte[] Encode(string name, string data, long? id) =>
        Encode(name, data.EndsWith('\n') ? [data[..^1]] : [data], id);

    /// <summary>A comment line: keeps an idle stream open through proxies that cut silent connections.</summary>
    public static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    private static void AppendData(StringBuilder text, string line)
    {
        var start = 0;
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] is not ('\r' or '\n')) continue;
            text.Append("data: ").Append(line, start, i - start).Append('\n');
            if (line[i] == '\r' && i + 1 < line.Length && line[i + 1] == '\n') i++;
            start = i + 1;
        }
        text.Append("data: ").Append(line, start, line.Length - start).Append('\n');
    }
}
