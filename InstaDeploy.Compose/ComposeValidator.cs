using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlScalar = YamlDotNet.Core.Events.Scalar;

namespace InstaDeploy.Compose;

/// <summary>
/// Checks a compose file before anything is sent: a YAML document whose top level is a mapping with a non-empty
/// <c>services</c> mapping. It reads the YAML as a stream of events with a depth limit, and counts what aliases would
/// expand to without expanding them, so neither deep nesting nor an alias bomb ("billion laughs") can exhaust the
/// control plane, or the agent's compose, which would expand them.
/// </summary>
public static class ComposeValidator
{
    public const int MaxDepth = 64;

    /// <summary>The most YAML nodes the document may hold once its aliases are expanded.</summary>
    public const long MaxExpandedNodes = 100_000;

    /// <summary>Returns null when the file is acceptable, else a message saying what to fix.</summary>
    public static string? Validate(string yaml)
    {
        try
        {
            var walker = new Walker(new Parser(new StringReader(yaml)));
            return walker.Run();
        }
        catch (YamlException e)
        {
            return $"the compose file is not valid YAML: {e.Message} (line {e.Start.Line}, column {e.Start.Column})";
        }
        catch (TooDeepException)
        {
            return $"the compose file nests deeper than {MaxDepth} levels";
        }
        catch (TooLargeException)
        {
            return $"the compose file's aliases expand to more than {MaxExpandedNodes} nodes (an alias bomb?)";
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this, not a YamlException, on some malformed input (found by fuzzing).
            return $"the compose file is not valid YAML: {e.Message}";
        }
    }

    private sealed class Walker(IParser parser)
    {
        private readonly Dictionary<string, long> _anchorSizes = new(StringComparer.Ordinal);
        private long _expanded;

        public string? Run()
        {
            parser.Consume<StreamStart>();
            if (!parser.TryConsume<DocumentStart>(out _))
                return "the compose file is empty";
            if (!parser.TryConsume<MappingStart>(out _))
                return "the compose file's top level must be a mapping (with a 'services' key)";

            var services = false;
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                string? key = null;
                if (parser.TryConsume<YamlScalar>(out var scalar))
                {
                    key = scalar.Value;
                    Count(1);
                }
                else
                {
                    Node(1);
                }
                if (key == "services")
                {
                    if (!parser.TryConsume<MappingStart>(out var start))
                        return "'services' must be a mapping of service names to their definitions";
                    if (parser.Accept<MappingEnd>(out _))
                        return "'services' is empty: define at least one service";
                    Remember(start.Anchor, 1 + RestOfMapping(2));
                    services = true;
                }
                else
                {
                    Node(1);
                }
            }
            return services ? null : "the compose file has no 'services' key";
        }

        /// <summary>Skips one node; returns how many nodes it stands for with its aliases expanded.</summary>
        private long Node(int depth)
        {
            if (depth > MaxDepth) throw new TooDeepException();
            if (parser.TryConsume<YamlScalar>(out var scalar))
            {
                Count(1);
                Remember(scalar.Anchor, 1);
                return 1;
            }
            if (parser.TryConsume<AnchorAlias>(out var alias))
            {
                if (!_anchorSizes.TryGetValue(alias.Value.Value, out var size))
                    throw new YamlException(alias.Start, alias.End, $"the alias '*{alias.Value.Value}' refers to no anchor defined before it");
                Count(size);
                return size;
            }
            if (parser.TryConsume<MappingStart>(out var mapping))
            {
                Count(1);
                var size = 1 + RestOfMapping(depth + 1);
                Remember(mapping.Anchor, size);
                return size;
            }
            if (parser.TryConsume<SequenceStart>(out var sequence))
            {
                Count(1);
                long size = 1;
                while (!parser.TryConsume<SequenceEnd>(out _)) size += Node(depth + 1);
                Remember(sequence.Anchor, size);
                return size;
            }
            throw new YamlException(parser.Current?.Start ?? Mark.Empty, parser.Current?.End ?? Mark.Empty, $"unexpected {parser.Current?.GetType().Name}");
        }

        private long RestOfMapping(int depth)
        {
            if (depth > MaxDepth) throw new TooDeepException();
            long size = 0;
            while (!parser.TryConsume<MappingEnd>(out _)) size += Node(depth) + Node(depth); // key, value
            return size;
        }

        private void Remember(AnchorName anchor, long size)
        {
            if (!anchor.IsEmpty) _anchorSizes[anchor.Value] = size;
        }

        private void Count(long nodes)
        {
            _expanded += nodes;
            if (_expanded > MaxExpandedNodes) throw new TooLargeException();
        }
    }

    private sealed class TooDeepException : Exception;

    private sealed class TooLargeException : Exception;
}
