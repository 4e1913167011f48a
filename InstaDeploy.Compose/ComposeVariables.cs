namespace InstaDeploy.Compose;

/// <summary>
/// What <c>${NAME}</c> in a compose file becomes: compose fills it from its own environment and the project's <c>.env</c>
/// (the environment wins). On the control plane a name may be unknown (compose's environment is the agent's); a value
/// that depends on one is never trusted.
/// </summary>
public sealed class ComposeVariables
{
    private readonly Func<string, (bool Known, string? Value)> _lookup;

    private ComposeVariables(Func<string, (bool Known, string? Value)> lookup) => _lookup = lookup;

    /// <summary>Every variable known exactly: <paramref name="environment"/> (compose's own) over <paramref name="dotEnv"/>; others are unset.</summary>
    public static ComposeVariables Exact(IReadOnlyDictionary<string, string> environment, IReadOnlyDictionary<string, string> dotEnv) =>
        new(name => (true, environment.TryGetValue(name, out var value) ? value : dotEnv.GetValueOrDefault(name)));

    /// <summary>
    /// What the control plane knows: the project's variables (written to the agent's <c>.env</c>); a name the agent passes
    /// to compose from its own environment (<see cref="Contracts.ChildEnvironment"/>) is unknown, since that environment
    /// wins; any other name is unset.
    /// </summary>
    public static ComposeVariables ControlPlane(IEnumerable<KeyValuePair<string, string>> projectVariables)
    {
        var known = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in projectVariables) known[name] = value;
        return new(name => Contracts.ChildEnvironment.IsPassed(name) ? (false, null) : (true, known.GetValueOrDefault(name)));
    }

    /// <summary>No variable is set (a file checked with no project variables).</summary>
    public static ComposeVariables None { get; } = ControlPlane([]);

    /// <summary>What <paramref name="text"/> becomes once interpolated, or why it cannot be known.</summary>
    public Interpolated Interpolate(string text)
    {
        if (!text.Contains('$')) return new Interpolated(text, null);
        var result = new System.Text.StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c != '$')
            {
                result.Append(c);
                i++;
                continue;
            }
            if (i + 1 < text.Length && text[i + 1] == '$')
            {
                result.Append('$');
                i += 2;
                continue;
            }
            if (i + 1 < text.Length && text[i + 1] == '{')
            {
                var close = text.IndexOf('}', i + 2);
                if (close < 0) return Unknown("an unclosed '${'");
                var body = text[(i + 2)..close];
                var nameLength = NameLength(body, 0);
                if (nameLength == 0) return Unknown($"'${{{body}}}', which is not a variable reference compose reads");
                var name = body[..nameLength];
                var rest = body[nameLength..];
                if (rest.Contains('$')) return Unknown("a nested variable reference, which compose v1 and v2 read differently");
                var (value, why) = Braced(name, rest);
                if (value is null) return Unknown(why!);
                result.Append(value);
                i = close + 1;
                continue;
            }
            var length = NameLength(text, i + 1);
            if (length == 0) return Unknown("a '$' that starts no variable reference (write '$$' for a '$')");
            var plain = text.Substring(i + 1, length);
            var (known, set) = _lookup(plain);
            if (!known) return Unknown(FromEnvironment(plain));
            result.Append(set ?? "");
            i += 1 + length;
        }
        return new Interpolated(result.ToString(), null);
    }

    /// <summary>The value of <c>${name&lt;rest&gt;}</c>, or null and why it cannot be known (or compose would refuse it).</summary>
    private (string? Value, string? Why) Braced(string name, string rest)
    {
        var (known, value) = _lookup(name);
        if (!known) return (null, FromEnvironment(name));
        var nonEmpty = !string.IsNullOrEmpty(value);
        if (rest.Length == 0) return (value ?? "", null);
        if (rest.StartsWith(":-", StringComparison.Ordinal)) return (nonEmpty ? value : rest[2..], null);
        if (rest.StartsWith('-')) return (value ?? rest[1..], null);
        if (rest.StartsWith(":+", StringComparison.Ordinal)) return (nonEmpty ? rest[2..] : "", null);
        if (rest.StartsWith('+')) return (value is not null ? rest[1..] : "", null);
        var required = $"the variable {name}, which is required and not set, so compose refuses the file";
        if (rest.StartsWith(":?", StringComparison.Ordinal)) return nonEmpty ? (value, null) : (null, required);
        if (rest.StartsWith('?')) return value is not null ? (value, null) : (null, required);
        return (null, $"'${{{name}{rest}}}', which is not a variable reference compose reads");
    }

    private static string FromEnvironment(string name) => $"the variable {name}, which compose takes from the agent's environment";

    private static int NameLength(string text, int start)
    {
        var i = start;
        if (i >= text.Length || !(char.IsAsciiLetter(text[i]) || text[i] == '_')) return 0;
        while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_')) i++;
        return i - start;
    }

    private static Interpolated Unknown(string reason) => new(null, reason);
}

/// <summary>A value after interpolation: <see cref="Text"/>, or, when it cannot be known, <see cref="Unknown"/> saying why.</summary>
/// <param name="Text">The value, or null when unknown (or a YAML null).</param>
/// <param name="Unknown">Why the value cannot be known, or null.</param>
public readonly record struct Interpolated(string? Text, string? Unknown);
