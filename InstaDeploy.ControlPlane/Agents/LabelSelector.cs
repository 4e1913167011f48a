using InstaDeploy.Contracts;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>
/// A Kubernetes-style label selector: requirements joined by commas, all of which must hold. <c>role=web</c> (or
/// <c>==</c>), <c>role!=web</c>, <c>region in (eu,us)</c>, <c>region notin (ap)</c>, <c>gpu</c> (has the label) and
/// <c>!gpu</c> (has not). As in Kubernetes, <c>!=</c> and <c>notin</c> also match agents without the label.
/// </summary>
public sealed class LabelSelector
{
    /// <summary>Longest selector accepted.</summary>
    public const int MaxLength = 4096;

    /// <summary>Most requirements in one selector.</summary>
    public const int MaxRequirements = 64;

    private LabelSelector(string text, IReadOnlyList<Requirement> requirements) => (Text, Requirements) = (text, requirements);

    /// <summary>The selector as given.</summary>
    public string Text { get; }

    public IReadOnlyList<Requirement> Requirements { get; }

    /// <summary>Whether an agent with <paramref name="labels"/> is selected.</summary>
    public bool Matches(IReadOnlyDictionary<string, string> labels) => Requirements.All(r => r.Matches(labels));

    /// <summary>Parses a selector; on error, says at which position (1 is the first character) and what was expected.</summary>
    public static (LabelSelector? Selector, string? Error) Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return (null, "is empty; write requirements such as role=web,region in (eu,us)");
        if (text.Length > MaxLength) return (null, $"is {text.Length} characters, over the limit of {MaxLength}");
        var parser = new Parser(text);
        try
        {
            var requirements = new List<Requirement>();
            do
            {
                requirements.Add(parser.Requirement());
                if (requirements.Count > MaxRequirements) return (null, $"has more than {MaxRequirements} requirements");
            } while (parser.TakeIf(','));
            parser.ExpectEnd();
            return (new LabelSelector(text, requirements), null);
        }
        catch (SelectorSyntaxException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>What one requirement asks of a label.</summary>
    public enum SelectorOperator { Exists, DoesNotExist, Equals, NotEquals, In, NotIn }

    /// <summary>One requirement: the label <see cref="Key"/> and what its value must be.</summary>
    public sealed record Requirement(string Key, SelectorOperator Op, IReadOnlyList<string> Values)
    {
        public bool Matches(IReadOnlyDictionary<string, string> labels)
        {
            var has = labels.TryGetValue(Key, out var value);
            return Op switch
            {
                SelectorOperator.Exists => has,
                SelectorOperator.DoesNotExist => !has,
                SelectorOperator.Equals or SelectorOperator.In => has && Values.Contains(value!, StringComparer.Ordinal),
                _ => !has || !Values.Contains(value!, StringComparer.Ordinal),
            };
        }
    }

    private sealed class SelectorSyntaxException(string message) : Exception(message);

    /// <summary>A hand-written recursive-descent parser: each error names the 1-based position and what was expected.</summary>
    private sealed class Parser(string text)
    {
        private int _at;

        public Requirement Requirement()
        {
            SkipSpaces();
            if (TakeIf('!'))
            {
                var negated = Name("a label key after '!'", key: true);
                return new Requirement(negated, SelectorOperator.DoesNotExist, []);
            }
            var key = Name("a label key", key: true);
            SkipSpaces();
            if (AtEnd || Peek == ',') return new Requirement(key, SelectorOperator.Exists, []);
            if (TakeIf('!'))
            {
                if (!TakeIf('=')) throw Expected("'=' after '!' (the operator is '!=')");
                return new Requirement(key, SelectorOperator.NotEquals, [Value(key)]);
            }
            if (TakeIf('='))
            {
                TakeIf('=');
                return new Requirement(key, SelectorOperator.Equals, [Value(key)]);
            }
            var start = _at;
            var word = Word();
            var op = word switch
            {
                "in" => SelectorOperator.In,
                "notin" => SelectorOperator.NotIn,
                _ => (SelectorOperator?)null,
            };
            if (op is null)
            {
                _at = start;
                throw Expected($"'=', '==', '!=', 'in' or 'notin' after the key '{key}'");
            }
            SkipSpaces();
            if (!TakeIf('(')) throw Expected($"'(' after '{word}'");
            var values = new List<string>();
            do
            {
                values.Add(Value(key));
                SkipSpaces();
            } while (TakeIf(','));
            if (!TakeIf(')')) throw Expected("',' or ')' in the list of values");
            return new Requirement(key, op.Value, values);
        }

        public bool TakeIf(char c)
        {
            SkipSpaces();
            if (AtEnd || Peek != c) return false;
            _at++;
            return true;
        }

        public void ExpectEnd()
        {
            SkipSpaces();
            if (!AtEnd) throw Expected("',' between requirements, or the end of the selector");
        }

        private string Name(string what, bool key)
        {
            SkipSpaces();
            var start = _at;
            var name = Word();
            if (name.Length == 0) throw Expected(what);
            if (key && !AgentLabels.IsValidKey(name))
                throw new SelectorSyntaxException($"at position {start + 1}: '{AgentLabels.Shown(name)}' is not a valid label key ({AgentLabels.Rule})");
            return name;
        }

        private string Value(string key)
        {
            SkipSpaces();
            var start = _at;
            var value = Word();
            if (value.Length == 0) throw Expected($"a value for '{key}'");
            if (!AgentLabels.IsValidValue(value))
                throw new SelectorSyntaxException($"at position {start + 1}: '{AgentLabels.Shown(value)}' is not a valid label value ({AgentLabels.Rule})");
            return value;
        }

        private string Word()
        {
            var start = _at;
            while (!AtEnd && AgentLabels.IsNameChar(Peek)) _at++;
            return text[start.._at];
        }

        private void SkipSpaces()
        {
            while (!AtEnd && Peek is ' ' or '\t') _at++;
        }

        private bool AtEnd => _at >= text.Length;

        private char Peek => text[_at];

        private SelectorSyntaxException Expected(string what) => new(AtEnd
            ? $"at position {_at + 1} (the end): expected {what}"
            : $"at position {_at + 1}: expected {what}, found '{(char.IsControl(Peek) ? '?' : Peek)}'");
    }
}
