using System.Text;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>The rules for a job's stored output: at most INSTADEPLOY_MAX_JOB_LOG_BYTES (UTF-8), whole lines, numbered
/// from 1 as the job streamed them.</summary>
public static class JobLogs
{
    /// <summary>Stored output, and how many lines were dropped from its head to fit.</summary>
    public readonly record struct Kept(string Text, int DroppedLines);

    /// <summary>The end of <paramref name="text"/> that fits in <paramref name="maxBytes"/>, starting at a line, and how
    /// many lines came before it. A single last line longer than the cap keeps its end.</summary>
    public static Kept Tail(string text, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(text) <= maxBytes) return new Kept(text, 0);
        // Walk back from the end until the cap is reached; then start at the next line.
        var bytes = 0;
        var start = text.Length;
        while (start > 0)
        {
            var size = char.IsLowSurrogate(text[start - 1]) && start > 1 ? 2 : 1;
            var charBytes = Encoding.UTF8.GetByteCount(text.AsSpan(start - size, size));
            if (bytes + charBytes > maxBytes) break;
            bytes += charBytes;
            start -= size;
        }
        if (start > 0 && text[start - 1] != '\n')
        {
            var next = text.IndexOf('\n', start);
            if (next >= 0 && next + 1 < text.Length) start = next + 1;
        }
        var dropped = text.AsSpan(0, start).Count('\n');
        return new Kept(text[start..], dropped);
    }

    /// <summary>Splits output into lines; a final line without its newline is a line too.</summary>
    public static List<string> SplitLines(string text)
    {
        var lines = new List<string>();
        var start = 0;
        while (start < text.Length)
        {
            var end = text.IndexOf('\n', start);
            if (end < 0)
            {
                lines.Add(text[start..]);
                break;
            }
            lines.Add(text[start..end]);
            start = end + 1;
        }
        return lines;
    }
}
