using System.Text;

namespace InstaDeploy.ControlPlane.WebConsole.Text;

/// <summary>A run of text with one look: its CSS classes (colour, bold...) or none.</summary>
public readonly record struct AnsiSegment(string Text, string? Classes);

/// <summary>
/// ANSI SGR escapes (<c>ESC[...m</c>: the 8/16 colours, bright, bold, dim, italic, underline, 256-colour and RGB
/// colours mapped to the nearest of the 16) turned into classed runs of text; every other escape and control character
/// is dropped, so output from a container can colour its own text and do nothing else. The text itself is never
/// markup: pages render it as text.
/// </summary>
public static class Ansi
{
    public static IReadOnlyList<AnsiSegment> Parse(string line)
    {
        if (line.IndexOf('\u001b') < 0 && !HasControl(line)) return [new AnsiSegment(line, null)];
        var segments = new List<AnsiSegment>();
        var style = new Style();
        var text = new StringBuilder();
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\u001b')
            {
                var end = EscapeEnd(line, i);
                if (end > i + 1 && line[i + 1] == '[' && line[end] == 'm')
                {
                    Flush(segments, text, style);
                    style = style.Apply(line.AsSpan(i + 2, end - i - 2));
                }
                i = end;
                continue;
            }
            if (c == '\t') text.Append("    ");
            else if (!char.IsControl(c)) text.Append(c);
        }
        Flush(segments, text, style);
        return segments;
    }

    /// <summary>The line without any escape or control character (what a filter or a download sees).</summary>
    public static string Strip(string line)
    {
        var segments = Parse(line);
        return segments.Count == 1 ? segments[0].Text : string.Concat(segments.Select(s => s.Text));
    }

    private static bool HasControl(string line)
    {
        foreach (var c in line)
            if (char.IsControl(c)) return true;
        return false;
    }

    /// <summary>The index of an escape's last character (CSI sequences end at a final byte in @..~; others are two characters).</summary>
    private static int EscapeEnd(string line, int start)
    {
        if (start + 1 >= line.Length) return start;
        if (line[start + 1] != '[') return start + 1;
        for (var j = start + 2; j < line.Length; j++)
            if (line[j] is >= '@' and <= '~') return j;
        return line.Length - 1;
    }

    private static void Flush(List<AnsiSegment> segments, StringBuilder text, Style style)
    {
        if (text.Length == 0) return;
        segments.Add(new AnsiSegment(text.ToString(), style.Classes()));
        text.Clear();
    }

    private readonly record struct Style(int? Foreground = null, int? Background = null, bool Bold = false, bool Dim = false, bool Italic = false, bool Underline = false)
    {
        public Style Apply(ReadOnlySpan<char> parameters)
        {
            var codes = new List<int>();
            foreach (var part in parameters.ToString().Split(';'))
                codes.Add(int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0);
            var style = this;
            for (var k = 0; k < codes.Count; k++)
            {
                var code = codes[k];
                switch (code)
                {
                    case 0: style = new Style(); break;
                    case 1: style = style with { Bold = true }; break;
                    case 2: style = style with { Dim = true }; break;
                    case 3: style = style with { Italic = true }; break;
                    case 4: style = style with { Underline = true }; break;
                    case 22: style = style with { Bold = false, Dim = false }; break;
                    case 23: style = style with { Italic = false }; break;
                    case 24: style = style with { Underline = false }; break;
                    case >= 30 and <= 37: style = style with { Foreground = code - 30 }; break;
                    case 39: style = style with { Foreground = null }; break;
                    case >= 40 and <= 47: style = style with { Background = code - 40 }; break;
                    case 49: style = style with { Background = null }; break;
                    case >= 90 and <= 97: style = style with { Foreground = code - 90 + 8 }; break;
                    case >= 100 and <= 107: style = style with { Background = code - 100 + 8 }; break;
                    case 38 or 48:
                        var (colour, used) = Extended(codes, k + 1);
                        k += used;
                        style = code == 38 ? style with { Foreground = colour } : style with { Background = colour };
                        break;
                }
            }
            return style;
        }

        public string? Classes()
        {
            if (this == default) return null;
            var classes = new List<string>(4);
            if (Foreground is { } fg) classes.Add("ansi-fg" + fg);
            if (Background is { } bg) classes.Add("ansi-bg" + bg);
            if (Bold) classes.Add("ansi-bold");
            if (Dim) classes.Add("ansi-dim");
            if (Italic) classes.Add("ansi-italic");
            if (Underline) classes.Add("ansi-underline");
            return string.Join(' ', classes);
        }

        /// <summary>38;5;N or 38;2;R;G;B, as the nearest of the 16 colours; how many codes it used.</summary>
        private static (int? Colour, int Used) Extended(List<int> codes, int at)
        {
            if (at >= codes.Count) return (null, 0);
            if (codes[at] == 5 && at + 1 < codes.Count)
            {
                var n = codes[at + 1];
                if (n < 16) return (n, 2);
                if (n >= 232) return (n < 244 ? 8 : 7, 2);
                n -= 16;
                return (Nearest(n / 36 * 51, n / 6 % 6 * 51, n % 6 * 51), 2);
            }
            if (codes[at] == 2 && at + 3 < codes.Count) return (Nearest(codes[at + 1], codes[at + 2], codes[at + 3]), 4);
            return (null, 1);
        }

        private static int Nearest(int r, int g, int b)
        {
            var bright = Math.Max(r, Math.Max(g, b)) > 170;
            var index = (r > 85 ? 1 : 0) | (g > 85 ? 2 : 0) | (b > 85 ? 4 : 0);
            return index + (bright ? 8 : 0);
        }
    }
}
