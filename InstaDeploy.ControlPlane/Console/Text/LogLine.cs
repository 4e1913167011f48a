namespace InstaDeploy.ControlPlane.WebConsole.Text;

/// <summary>One line of output as the log view shows it: its number (the job's own line number), its coloured runs,
/// and optionally where it came from (agent and container, for merged container logs) and when.</summary>
public sealed record LogLine(long Seq, IReadOnlyList<AnsiSegment> Segments, string? Source = null, string? Time = null)
{
    public static LogLine Of(long seq, string text, string? source = null, string? time = null) => new(seq, Ansi.Parse(text), source, time);

    /// <summary>The line's text without escapes, for filters and downloads.</summary>
    public string Plain => Segments.Count == 1 ? Segments[0].Text : string.Concat(Segments.Select(s => s.Text));
}
