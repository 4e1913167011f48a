using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlScalar = YamlDotNet.Core.Events.Scalar;

namespace InstaDeploy.Compose;

/// <summary>
/// Reads a compose file the way compose does, into <see cref="ComposeNode"/>s: every document of the stream, anchors and
/// aliases, YAML merge keys (<c>&lt;&lt;</c>, explicit keys winning over merged ones and earlier merged mappings over
/// later ones), keys compared by value whatever their quoting, escapes or tags, and <c>!!binary</c> decoded (compose v2
/// reads it as text). Every document is limited in depth and in what its aliases expand to, counted as it is read and
/// never expanded, so no input can exhaust the stack or the memory of whoever reads it.
/// </summary>
public static class ComposeYaml
{
    /// <summary>The deepest nesting accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>The most nodes a file may stand for once its aliases (and merge keys) are expanded, over all its documents.</summary>
    public const long MaxExpandedNodes = 100_000;

    private const string MergeTag = "tag:yaml.org,2002:merge";
    private const string BinaryTag = "tag:yaml.org,2002:binary";
    private const string NullTag = "tag:yaml.org,2002:null";

    /// <summary>The documents of <paramref name="yaml"/>, in order (a document with no content is a null scalar).</summary>
    /// <exception cref="ComposeYamlException">The text is not YAML compose can read, or is over a limit; the message says which.</exception>
    public static IReadOnlyList<ComposeNode> Parse(string yaml)
    {
        try
        {
            return new Reader(new Parser(new StringReader(yaml))).Documents();
        }
        catch (YamlException e)
        {
            throw new ComposeYamlException($"the compose file is not valid YAML: {e.Message} (line {e.Start.Line}, column {e.Start.Column})");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            // YamlDotNet's scanner throws these, not a YamlException, on some malformed input (found by fuzzing).
            throw new ComposeYamlException($"the compose file is not valid YAML: {e.Message}");
        }
    }

    /// <summary>Reads JSON (what <c>docker compose config --format json</c> prints) into the same nodes, with the same depth limit.</summary>
    /// <exception cref="ComposeYamlException">Not JSON, or nested deeper than <see cref="MaxDepth"/>.</exception>
    public static ComposeNode ParseJson(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth });
            return FromJson(document.RootElement);
        }
        catch (JsonException e)
        {
            throw new ComposeYamlException($"the output is not valid JSON: {e.Message}");
        }
    }

    private static ComposeNode FromJson(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var map = new ComposeMap();
                foreach (var property in element.EnumerateObject()) map.Set(property.Name, FromJson(property.Value));
                return map;
            case JsonValueKind.Array:
                var sequence = new ComposeSequence();
                foreach (var item in element.EnumerateArray()) sequence.Add(FromJson(item));
                return sequence;
            case JsonValueKind.String:
                return new ComposeScalar(element.GetString(), quoted: true);
            case JsonValueKind.Null:
                return new ComposeScalar(null, quoted: false);
            default:
                return new ComposeScalar(element.GetRawText(), quoted: false); // true, false, numbers
        }
    }

    private sealed class Reader(IParser parser)
    {
        private Dictionary<string, ComposeNode> _anchors = new(StringComparer.Ordinal);
        private long _expanded;

        public List<ComposeNode> Documents()
        {
            var documents = new List<ComposeNode>();
            parser.Consume<StreamStart>();
            while (parser.TryConsume<DocumentStart>(out _))
            {
                _anchors = new Dictionary<string, ComposeNode>(StringComparer.Ordinal); // anchors never cross documents
                documents.Add(parser.Accept<DocumentEnd>(out _) ? new ComposeScalar(null, false) : Node(1));
                parser.Consume<DocumentEnd>();
            }
            parser.Consume<StreamEnd>();
            return documents;
        }

        private ComposeNode Node(int depth)
        {
            if (depth > MaxDepth) throw new ComposeYamlException($"the compose file nests deeper than {MaxDepth} levels");
            if (parser.TryConsume<AnchorAlias>(out var alias))
            {
                if (!_anchors.TryGetValue(alias.Value.Value, out var target))
                    throw new YamlException(alias.Start, alias.End, $"the alias '*{alias.Value.Value}' refers to no anchor defined before it");
                Count(target.Size);
                return target;
            }
            if (parser.TryConsume<YamlScalar>(out var scalar))
            {
                Count(1);
                return Remember(scalar.Anchor, ScalarOf(scalar));
            }
            if (parser.TryConsume<SequenceStart>(out var sequenceStart))
            {
                Count(1);
                var sequence = new ComposeSequence();
                while (!parser.TryConsume<SequenceEnd>(out _)) sequence.Add(Node(depth + 1));
                return Remember(sequenceStart.Anchor, sequence);
            }
            if (parser.TryConsume<MappingStart>(out var mappingStart))
            {
                Count(1);
                return Remember(mappingStart.Anchor, Mapping(depth));
            }
            var current = parser.Current;
            throw new YamlException(current?.Start ?? Mark.Empty, current?.End ?? Mark.Empty, $"unexpected {current?.GetType().Name}");
        }

        private ComposeMap Mapping(int depth)
        {
            var explicitEntries = new List<KeyValuePair<string, ComposeNode>>();
            var merged = new List<ComposeMap>();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var start = parser.Current;
                var keyNode = Node(depth + 1);
                var value = Node(depth + 1);
                if (keyNode is not ComposeScalar key)
                    throw new YamlException(start?.Start ?? Mark.Empty, start?.End ?? Mark.Empty, "a mapping key is itself a mapping or a sequence, which compose cannot read");
                if (IsMerge(key, value))
                {
                    if (value is ComposeMap one) merged.Add(one);
                    else foreach (var item in ((ComposeSequence)value).Items) merged.Add((ComposeMap)item);
                    continue;
                }
                explicitEntries.Add(new(key.Text ?? "null", value));
            }

            var map = new ComposeMap();
            // Merged mappings first, the earliest last so that it wins; then the keys written here, which win over all.
            for (var i = merged.Count - 1; i >= 0; i--)
            {
                Count(merged[i].Entries.Count);
                foreach (var (key, value) in merged[i].Entries) map.Set(key, value);
            }
            foreach (var (key, value) in explicitEntries) map.Set(key, value);
            return map;
        }

        private static bool IsMerge(ComposeScalar key, ComposeNode value)
        {
            if (key.Text != "<<") return false;
            var mergeable = value is ComposeMap || value is ComposeSequence { Items: var items } && items.All(i => i is ComposeMap);
            // Compose reads a plain << (or one tagged !!merge) as a merge key; a quoted one it keeps as a key, but reading
            // that as a merge too only ever sees more, never less.
            if (!mergeable && key.PlainMergeKey)
                throw new YamlException(Mark.Empty, Mark.Empty, "a merge key (<<) must be followed by a mapping or a list of mappings");
            return mergeable;
        }

        private static ComposeScalar ScalarOf(YamlScalar scalar)
        {
            var tag = scalar.Tag.IsEmpty ? null : scalar.Tag.Value;
            var plain = scalar.Style is ScalarStyle.Plain or ScalarStyle.Any;
            if (scalar.Value == "<<" && ((plain && tag is null) || tag == MergeTag)) return new ComposeScalar("<<", false) { PlainMergeKey = true };
            if (tag == NullTag) return new ComposeScalar(null, false);
            if (tag == BinaryTag) return new ComposeScalar(DecodeBinary(scalar), quoted: true);
            if (plain && tag is null && scalar.Value is "" or "~" or "null" or "Null" or "NULL") return new ComposeScalar(null, false);
            return new ComposeScalar(scalar.Value, quoted: !plain);
        }

        private static string DecodeBinary(YamlScalar scalar)
        {
            try
            {
                var base64 = string.Concat(scalar.Value.Where(c => !char.IsWhiteSpace(c)));
                return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            }
            catch (FormatException)
            {
                throw new YamlException(scalar.Start, scalar.End, "a !!binary value is not valid base64");
            }
        }

        private ComposeNode Remember(AnchorName anchor, ComposeNode node)
        {
            if (!anchor.IsEmpty) _anchors[anchor.Value] = node;
            return node;
        }

        private void Count(long nodes)
        {
            _expanded += nodes;
            if (_expanded > MaxExpandedNodes)
                throw new ComposeYamlException($"the compose file's aliases expand to more than {MaxExpandedNodes} nodes (an alias bomb?)");
        }
    }
}

/// <summary>A compose file (or compose's output) that cannot be read; the message says why.</summary>
public sealed class ComposeYamlException(string message) : Exception(message);
