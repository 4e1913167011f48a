using System.Text;
using System.Text.RegularExpressions;

namespace InstaDeploy.Cli.Input;

/// <summary>
/// A dotenv file as <c>deploy --env-file</c> reads it: <c>NAME=value</c> lines, optionally <c>export NAME=value</c>;
/// blank lines and <c># comments</c> skipped; values bare (a <c> #</c> starts a comment; surrounding spaces trimmed),
/// in single quotes (taken literally) or in double quotes (with <c>\"</c> and <c>\\</c> escapes). A name given twice
/// keeps its last value. Any other line is an error naming its number, and nothing is set.
/// </summary>
public static partial class DotEnvFile
{
    public static IReadOnlyList<KeyValuePair<string, string>> Parse(string text, string fileName)
    {
        var values = new List<KeyValuePair<string, string>>();
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            if (line.StartsWith("export ", StringComparison.Ordinal)) line = line["export ".Length..].TrimStart();
            var equals = line.IndexOf('=');
            if (equals <= 0) throw Error(fileName, i, "is not NAME=value");
            var name = line[..equals].Trim();
            if (!NamePattern().IsMatch(name)) throw Error(fileName, i, $"'{Shorten(name)}' is not a variable name (letters, digits and '_', not starting with a digit)");
            var value = ReadValue(line[(equals + 1)..].TrimStart(), fileName, i);
            values.RemoveAll(v => v.Key == name);
            values.Add(new(name, value));
        }
        return values;
    }

    private static string ReadValue(string raw, string fileName, int line)
    {
        if (raw.Length == 0) return "";
        if (raw[0] == '\'')
        {
            var end = raw.IndexOf('\'', 1);
            if (end < 0) throw Error(fileName, line, "has no closing single quote (values cannot span lines)");
            RequireOnlyComment(raw[(end + 1)..], fileName, line);
            return raw[1..end];
        }
        if (raw[0] == '"')
        {
            var value = new StringBuilder();
            for (var i = 1; i < raw.Length; i++)
            {
                var c = raw[i];
                if (c == '\\' && i + 1 < raw.Length && raw[i + 1] is '"' or '\\')
                {
                    value.Append(raw[++i]);
                    continue;
                }
                if (c == '"')
                {
                    RequireOnlyComment(raw[(i + 1)..], fileName, line);
                    return value.ToString();
                }
                value.Append(c);
            }
            throw Error(fileName, line, "has no closing double quote (values cannot span lines)");
        }
        var comment = raw.IndexOf(" #", StringComparison.Ordinal);
        return (comment < 0 ? raw : raw[..comment]).TrimEnd();
    }

    private static void RequireOnlyComment(string rest, string fileName, int line)
    {
        var trimmed = rest.Trim();
        if (trimmed.Length > 0 && trimmed[0] != '#') throw Error(fileName, line, "has text after the closing quote");
    }

    private static CliException Error(string fileName, int line, string problem) =>
        CliException.Usage($"{fileName} line {line + 1} {problem}; nothing was set.");

    private static string Shorten(string text) => text.Length > 40 ? text[..40] + "…" : text;

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
