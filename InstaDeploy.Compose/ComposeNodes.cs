namespace InstaDeploy.Compose;

/// <summary>
/// A YAML (or JSON) node as compose reads it: anchors and merge keys are already applied, mapping keys are plain
/// strings compared by value (whatever their quoting, escapes or tags), and a scalar keeps its text uninterpreted.
/// </summary>
public abstract class ComposeNode
{
    /// <summary>How many nodes this one stands for with its aliases expanded (itself included).</summary>
    internal long Size { get; set; } = 1;
}

/// <summary>A mapping. A key written twice keeps its last value, as compose v1 does (v2 refuses such a file).</summary>
public sealed class ComposeMap : ComposeNode
{
    private readonly List<KeyValuePair<string, ComposeNode>> _entries = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    /// <summary>The entries in the order they were first written.</summary>
    public IReadOnlyList<KeyValuePair<string, ComposeNode>> Entries => _entries;

    /// <summary>The value of <paramref name="key"/>, or null when the mapping has no such key.</summary>
    public ComposeNode? this[string key] => _index.TryGetValue(key, out var at) ? _entries[at].Value : null;

    internal void Set(string key, ComposeNode value)
    {
        if (_index.TryGetValue(key, out var at))
        {
            Size -= _entries[at].Value.Size;
            _entries[at] = new(key, value);
        }
        else
        {
            _index[key] = _entries.Count;
            _entries.Add(new(key, value));
            Size += 1; // the key
        }
        Size += value.Size;
    }
}

/// <summary>A sequence.</summary>
public sealed class ComposeSequence : ComposeNode
{
    private readonly List<ComposeNode> _items = [];

    /// <summary>The items in order.</summary>
    public IReadOnlyList<ComposeNode> Items => _items;

    internal void Add(ComposeNode item)
    {
        _items.Add(item);
        Size += item.Size;
    }
}

/// <summary>A scalar: its text as written (escapes decoded, <c>!!binary</c> decoded), or null for a YAML null.</summary>
/// <param name="text">The text, or null.</param>
/// <param name="quoted">Whether it was quoted (or is a JSON string): then it is never a null, a boolean or a number.</param>
public sealed class ComposeScalar(string? text, bool quoted) : ComposeNode
{
    /// <summary>The text, or null for a YAML null (<c>~</c>, <c>null</c>, an empty plain value, <c>!!null</c>).</summary>
    public string? Text { get; } = text;

    /// <summary>Whether the value was quoted.</summary>
    public bool Quoted { get; } = quoted;

    /// <summary>A plain (or <c>!!merge</c>) <c>&lt;&lt;</c>: a merge key wherever it is a mapping's key.</summary>
    internal bool PlainMergeKey { get; init; }

    /// <inheritdoc />
    public override string ToString() => Text ?? "null";
}
