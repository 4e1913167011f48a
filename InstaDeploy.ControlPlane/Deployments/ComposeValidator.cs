using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlScalar = YamlDotNet.Core.Events.Scalar;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>
/// Checks a compose file before anything is sent: a YAML document whose top level is a mapping with a non-empty
/// <c>services</c> mapping. It reads the YAML as a stream of events with a depth limit, so neither deep nesting
/// nor alias expansion can exhaust the control plane.
/// </summary>
public static class ComposeValidator
{
    public const int MaxDepth = 64;

    /// <summary>Returns null when the file is acceptable, else a message saying what to fix.</summary>
    public static string? Validate(string yaml)
    {
        try
        {
            var parser = new Parser(new StringReader(yaml));
            parser.Consume<StreamStart>();
            if (!parser.TryConsume<DocumentStart>(out _))
                return "the compose file is empty";
            if (!parser.TryConsume<MappingStart>(out _))
                return "the compose file's top level must be a mapping (with a 'services' key)";

            var services = false;
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var key = parser.TryConsume<YamlScalar>(out var scalar) ? scalar.Value : SkipNode(parser, 1);
                if (key == "services")
                {
                    if (!parser.TryConsume<MappingStart>(out _))
                        return "'services' must be a mapping of service names to their definitions";
                    if (parser.Accept<MappingEnd>(out _))
                        return "'services' is empty: define at least one service";
                    SkipRestOfMapping(parser, 2);
                    services = true;
                }
                else
                {
                    SkipNode(parser, 1);
                }
            }
            return services ? null : "the compose file has no 'services' key";
        }
        catch (YamlException e)
        {
            return $"the compose file is not valid YAML: {e.Message} (line {e.Start.Line}, column {e.Start.Column})";
        }
        catch (TooDeepException)
        {
            return $"the compose file nests deeper than {MaxDepth} levels";
        }
    }

    private static string? SkipNode(IParser parser, int depth)
    {
        if (depth > MaxDepth) throw new TooDeepException();
        if (parser.TryConsume<YamlScalar>(out _) || parser.TryConsume<AnchorAlias>(out _)) return null;
        if (parser.TryConsume<MappingStart>(out _))
        {
            SkipRestOfMapping(parser, depth + 1);
            return null;
        }
        if (parser.TryConsume<SequenceStart>(out _))
        {
            while (!parser.TryConsume<SequenceEnd>(out _)) SkipNode(parser, depth + 1);
            return null;
        }
        throw new YamlException(parser.Current?.Start ?? Mark.Empty, parser.Current?.End ?? Mark.Empty, $"unexpected {parser.Current?.GetType().Name}");
    }

    private static void SkipRestOfMapping(IParser parser, int depth)
    {
        if (depth > MaxDepth) throw new TooDeepException();
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            SkipNode(parser, depth); // key
            SkipNode(parser, depth); // value
        }
    }

    private sealed class TooDeepException : Exception;
}
