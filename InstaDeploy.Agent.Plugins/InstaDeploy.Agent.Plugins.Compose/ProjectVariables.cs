using System.Text;
using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>A deploy's variables (<see cref="Contracts.ProjectVariable"/>, from the typed payload) as the agent checks and
/// writes them, and reads them back from a <c>.env</c>.</summary>
public static class ProjectVariables
{
    /// <summary>The payload's <c>env</c> list checked against the variable rules, or null when the payload has none (a seed
    /// server): then the project's <c>.env</c> is left as it is.</summary>
    /// <exception cref="CommandPayloadException">An entry is not writable to a <c>.env</c> file.</exception>
    public static IReadOnlyList<ProjectVariable>? Checked(IReadOnlyList<ProjectVariable>? env)
    {
        if (env is null) return null;
        foreach (var variable in env)
        {
            if (variable is null || variable.Name is null || variable.Value is null)
                throw new CommandPayloadException("each \"env\" entry must be {\"name\": string, \"value\": string, \"secret\": bool}");
            if (!Contracts.EnvironmentVariables.IsValidName(variable.Name))
                throw new CommandPayloadException($"env name '{variable.Name}' must match {Contracts.EnvironmentVariables.NamePattern}");
            if (Contracts.EnvironmentVariables.ValueProblem(variable.Value) is { } problem)
                throw new CommandPayloadException($"env {variable.Name}: the value {problem}");
        }
        return env;
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
