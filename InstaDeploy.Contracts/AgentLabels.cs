namespace InstaDeploy.Contracts;

/// <summary>
/// The rules for agent labels (<c>role=web</c>), Kubernetes-style, checked the same way by the agent (its
/// <c>AGENT_LABELS</c> setting) and by the control plane (the <see cref="HandshakeHeaders.AgentLabels"/> header and the
/// admin API) before a label is stored or logged.
/// </summary>
public static class AgentLabels
{
    /// <summary>Most labels one agent may have.</summary>
    public const int MaxCount = 64;

    /// <summary>Longest key, and longest value.</summary>
    public const int MaxLength = 63;

    /// <summary>Longest <c>AGENT_LABELS</c> text (64 labels of a 63-character key and value).</summary>
    public const int MaxTextLength = MaxCount * (2 * MaxLength + 2);

    /// <summary>The rules as text, for error messages.</summary>
    public const string Rule = "keys are 1-63 of [A-Za-z0-9._/-] starting and ending with a letter or digit; values are 0-63 of [A-Za-z0-9._-] starting and ending with a letter or digit; at most 64 labels";

    /// <summary>Whether <paramref name="key"/> is a valid label key.</summary>
    public static bool IsValidKey(string? key) => key is { Length: > 0 and <= MaxLength } && Edges(key) && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '/' or '-');

    /// <summary>Whether <paramref name="value"/> is a valid label value (it may be empty).</summary>
    public static bool IsValidValue(string? value) => value is { Length: <= MaxLength } && (value.Length == 0 || (Edges(value) && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')));

    /// <summary>Whether <paramref name="c"/> may appear in a key or value (the selector parser's token characters).</summary>
    public static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '/' or '-';

    private static bool Edges(string text) => char.IsAsciiLetterOrDigit(text[0]) && char.IsAsciiLetterOrDigit(text[^1]);

    /// <summary>
    /// Parses <c>role=web,region=eu</c> (spaces around items ignored; empty text is no labels). Returns the labels, or
    /// an error naming the item that is wrong and the rule it breaks.
    /// </summary>
    public static (IReadOnlyDictionary<string, string>? Labels, string? Error) Parse(string? text)
    {
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text)) return (labels, null);
        if (text.Length > MaxTextLength) return (null, $"is {text.Length} characters, over the limit of {MaxTextLength}");
        var index = 0;
        foreach (var raw in text.Split(','))
        {
            index++;
            var item = raw.Trim();
            var equals = item.IndexOf('=');
            if (equals < 0) return (null, $"item {index} ('{Shown(item)}') is not key=value");
            var (key, value) = (item[..equals].Trim(), item[(equals + 1)..].Trim());
            if (!IsValidKey(key)) return (null, $"item {index}: '{Shown(key)}' is not a valid key ({Rule})");
            if (!IsValidValue(value)) return (null, $"item {index}: '{Shown(value)}' is not a valid value for '{key}' ({Rule})");
            if (!labels.TryAdd(key, value)) return (null, $"item {index}: key '{key}' is given twice");
            if (labels.Count > MaxCount) return (null, $"has more than {MaxCount} labels");
        }
        return (labels, null);
    }

    /// <summary>Checks a set of labels given as a map (the admin API); null when valid.</summary>
    public static string? Validate(IReadOnlyDictionary<string, string?> labels)
    {
        if (labels.Count > MaxCount) return $"has {labels.Count} labels, over the limit of {MaxCount}";
        foreach (var (key, value) in labels)
        {
            if (!IsValidKey(key)) return $"'{Shown(key)}' is not a valid key ({Rule})";
            if (value is not null && !IsValidValue(value)) return $"'{Shown(value)}' is not a valid value for '{key}' ({Rule})";
        }
        return null;
    }

    /// <summary><c>key=value,key=value</c>, keys in order: the header's form.</summary>
    public static string Format(IReadOnlyDictionary<string, string> labels) =>
        string.Join(',', labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    /// <summary>A value safe to quote in an error message: control characters replaced, at most 70 characters.</summary>
    public static string Shown(string text)
    {
        var shown = text.Length > 70 ? text[..70] + "…" : text;
        return new string([.. shown.Select(c => char.IsControl(c) ? '?' : c)]);
    }
}
