using System.Globalization;

namespace InstaDeploy.ControlPlane.WebConsole.Text;

/// <summary>One line of a project's container logs, from one agent: the container (from the agent's "name | " prefix, or
/// the project's only container), the time docker stamped it with, and the text.</summary>
public sealed record ContainerLogLine(string AgentId, string Container, DateTimeOffset? Time, string Text, long Order)
{
    /// <summary>Reads a line of a LOGS job's output (<c>[container | ][timestamp ]text</c>).</summary>
    public static ContainerLogLine Parse(string agentId, string? onlyContainer, string line, long order)
    {
        var container = onlyContainer ?? "";
        var rest = line;
        var bar = line.IndexOf(" | ", StringComparison.Ordinal);
        if (bar > 0 && bar < 256 && !line.AsSpan(0, bar).Contains(' '))
        {
            container = line[..bar];
            rest = line[(bar + 3)..];
        }
        DateTimeOffset? time = null;
        var space = rest.IndexOf(' ');
        if (space >= 20 && space <= 40 && char.IsAsciiDigit(rest[0])
            && DateTimeOffset.TryParse(SevenDigitFraction(rest[..space]), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var stamped))
        {
            time = stamped;
            rest = rest[(space + 1)..];
        }
        return new ContainerLogLine(agentId, container, time, rest, order);
    }

    /// <summary>Docker stamps nanoseconds (9 digits); .NET parses at most 7.</summary>
    private static string SevenDigitFraction(string stamp)
    {
        var dot = stamp.IndexOf('.');
        if (dot < 0) return stamp;
        var end = dot + 1;
        while (end < stamp.Length && char.IsAsciiDigit(stamp[end])) end++;
        return end - dot - 1 > 7 ? stamp[..(dot + 8)] + stamp[end..] : stamp;
    }

    /// <summary>Merge order across agents and containers: by time where docker stamped one, then as received.</summary>
    public static int Compare(ContainerLogLine a, ContainerLogLine b)
    {
        if (a.Time is { } ta && b.Time is { } tb && ta != tb) return ta.CompareTo(tb);
        return a.Order.CompareTo(b.Order);
    }

    /// <summary>The line as a download writes it: time, agent, container, text.</summary>
    public string ToText() =>
        $"{(Time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture) + " " : "")}{AgentId} {Container} | {Ansi.Strip(Text)}";
}
