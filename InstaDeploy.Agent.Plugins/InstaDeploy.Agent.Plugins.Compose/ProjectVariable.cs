using System.Text;
using System.Text.Json;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>One of a project's variables as a deploy carries it.</summary>
/// <param name="Name">The name.</param>
/// <param name="Value">The value, in clear.</param>
/// <param name="Secret">Whether it is redacted from output.</param>
public sealed record ProjectVariable(string Name, string Value, bool Secret)
{
    /// <summary>The payload's <c>env</c> list, or null when the payload has none (a seed server): then the project's
    /// <c>.env</c> is left as it is.</summary>
    /// <exception cref="CommandPayloadException">An entry is malformed or not writable to a <c>.env</c> file.</exception>
    public static IReadOnlyList<ProjectVariable>? FromPayload(JsonElement payload)
    {
        if (payload.ValueKind != JsonValueKind.Object || !payload.TryGetProperty(Contracts.DeployPayload.Env, out var env)) return null;
        if (env.ValueKind != JsonValueKind.Array) throw new CommandPayloadException("payload \"env\" must be an array");
        var variables = new List<ProjectVariable>();
        foreach (var entry in env.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                || !entry.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.String)
                throw new CommandPayloadException("each \"env\" entry must be {\"name\": string, \"value\": string, \"secret\": bool}");
            var variableName = name.GetString()!;
            if (!Contracts.EnvironmentVariables.IsValidName(variableName))
                throw new CommandPayloadException($"env name '{variableName}' must match {Contracts.EnvironmentVariables.NamePattern}");
            if (Contracts.EnvironmentVariables.ValueProblem(value.GetString()!) is { } problem)
                throw new CommandPayloadException($"env {variableName}: the value {problem}");
            variables.Add(new ProjectVariable(variableName, value.GetString()!,
                entry.TryGetProperty("secret", out var secret) && secret.ValueKind == JsonValueKind.True));
        }
        return variables;
    }

    /// <summary>Reads back a <c>.env</c> written by <see cref="Contracts.EnvironmentVariables.EnvFileLine"/>.</summary>
    public static IEnumerable<(string Name, string Value)> ParseEnvFile(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            var equals = line.IndexOf('=');
            if (equals <= 0) continue;
            var raw = line[(equals + 1)..];
            string value;
            if (raw.Length >= 2 && raw[0] == '\'' && raw[^1] == '\'') value = raw[1..^1];
            else if (raw.Length >= 2 && raw[0] == '"' && raw[^1] == '"') value = Unescape(raw[1..^1]);
            else value = raw;
            yield return (line[..equals], value);
        }
    }

    private static string Unescape(string quoted)
    {
        var result = new StringBuilder(quoted.Length);
        for (var i = 0; i < quoted.Length; i++)
        {
            if (quoted[i] == '\\' && i + 1 < quoted.Length) i++;
            result.Append(quoted[i]);
        }
        return result.ToString();
    }
}
