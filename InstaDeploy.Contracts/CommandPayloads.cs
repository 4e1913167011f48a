using System.Text.Json;
using System.Text.Json.Serialization;

namespace InstaDeploy.Contracts;

/// <summary>
/// <c>DEPLOY_COMPOSE</c>: the seed's <c>{project_name, compose_file_base64}</c> and the optional fields InstaDeploy adds
/// (named in <see cref="DeployPayload"/>), which a seed agent ignores.
/// </summary>
public sealed record DeployComposePayload
{
    /// <summary>The project: its folder on the agent and its compose project name.</summary>
    [JsonPropertyName("project_name")]
    public required string ProjectName { get; init; }

    /// <summary>The docker-compose.yml, base64 encoded.</summary>
    [JsonPropertyName("compose_file_base64")]
    public required string ComposeFileBase64 { get; init; }

    /// <summary>The project's variables, written as its owner-only <c>.env</c>; an empty list removes an old one. Absent:
    /// the agent leaves the <c>.env</c> as it is (a seed control plane never sends it).</summary>
    [JsonPropertyName(DeployPayload.Env)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ProjectVariable>? Env { get; init; }

    /// <summary>The control plane's revision number for this deploy.</summary>
    [JsonPropertyName(DeployPayload.Revision)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Revision { get; init; }

    /// <summary>Seconds to wait for the containers to be running and healthy; 0 skips the wait.</summary>
    [JsonPropertyName(DeployPayload.HealthWaitSeconds)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? HealthWaitSeconds { get; init; }

    /// <summary>Whether a failed deploy restores the project's last successful revision.</summary>
    [JsonPropertyName(DeployPayload.RollbackOnFailure)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? RollbackOnFailure { get; init; }

    /// <summary>When the deploy policy applies to this deploy: the agent enforces it, with these allow-lists, on the model
    /// compose resolves, even if its own AGENT_POLICY is off.</summary>
    [JsonPropertyName(DeployPayload.Policy)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DeployPolicyPayload? Policy { get; init; }

    /// <summary>Whether the agent pulls the images before <c>up</c>.</summary>
    [JsonPropertyName(DeployPayload.Pull)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Pull { get; init; }

    /// <summary>Registry logins for this deploy only (<see cref="DeployPayload.RegistryAuths"/>).</summary>
    [JsonPropertyName(DeployPayload.RegistryAuths)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<RegistryAuth>? RegistryAuths { get; init; }
}

/// <summary>A registry login a command carries, in clear only on the agent's socket.</summary>
/// <param name="Host">The registry host as image references name it (<c>docker.io</c> for Docker Hub).</param>
/// <param name="Username">The user name.</param>
/// <param name="Password">The password or token.</param>
public sealed record RegistryAuth(
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("password")] string Password);

/// <summary><c>REGISTRY_LOGIN</c>: try one registry login on the agent, as a deploy would use it.</summary>
public sealed record RegistryLoginPayload
{
    /// <summary>The login to try (exactly one), merged in as the command is written.</summary>
    [JsonPropertyName(DeployPayload.RegistryAuths)]
    public IReadOnlyList<RegistryAuth>? RegistryAuths { get; init; }

    /// <summary>The registry host, also when the login is not (yet) merged in.</summary>
    [JsonPropertyName("host")]
    public required string Host { get; init; }
}

/// <summary>The deploy policy a command asks the agent to enforce.</summary>
/// <param name="BindAllow">Absolute host paths under which bind mounts are allowed.</param>
/// <param name="CapAddAllow">Capabilities <c>cap_add</c> may add.</param>
public sealed record DeployPolicyPayload(
    [property: JsonPropertyName(DeployPayload.PolicyBindAllow)] IReadOnlyList<string> BindAllow,
    [property: JsonPropertyName(DeployPayload.PolicyCapAddAllow)] IReadOnlyList<string> CapAddAllow);

/// <summary>One entry of a deploy's <c>env</c>: a project variable as the agent writes it into <c>.env</c>.</summary>
/// <param name="Name">The variable's name (<see cref="EnvironmentVariables.NamePattern"/>).</param>
/// <param name="Value">Its value in clear: sent only over the agent's socket, never stored so.</param>
/// <param name="Secret">Whether the value is redacted from everything the job reports.</param>
public sealed record ProjectVariable(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] string Value,
    [property: JsonPropertyName("secret")] bool Secret);

/// <summary><c>STOP_COMPOSE</c> and <c>STATUS</c>: <c>{project_name}</c>.</summary>
public sealed record ProjectPayload
{
    /// <summary>The project.</summary>
    [JsonPropertyName("project_name")]
    public required string ProjectName { get; init; }
}

/// <summary><c>LOGS</c>: which container logs to read, as <c>docker logs</c> takes them.</summary>
public sealed record LogsPayload
{
    /// <summary>The project whose containers' logs are read.</summary>
    [JsonPropertyName("project_name")]
    public required string ProjectName { get; init; }

    /// <summary>The last lines of each container.</summary>
    [JsonPropertyName("tail")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Tail { get; init; }

    /// <summary>Only lines newer than this (<see cref="LogsSince"/>).</summary>
    [JsonPropertyName("since")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Since { get; init; }

    /// <summary>Only this compose service's containers.</summary>
    [JsonPropertyName("service")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Service { get; init; }

    /// <summary>Prefix each line with its time.</summary>
    [JsonPropertyName("timestamps")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Timestamps { get; init; }

    /// <summary>Keep streaming new lines for this long.</summary>
    [JsonPropertyName("follow_seconds")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? FollowSeconds { get; init; }
}

/// <summary>Serialization of command payloads, source generated, shared by both sides.</summary>
public static class CommandPayloadJson
{
    /// <summary>Type information for <see cref="DeployComposePayload"/>.</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<DeployComposePayload> Deploy => CommandPayloadJsonContext.Default.DeployComposePayload;

    /// <summary>Type information for <see cref="ProjectPayload"/>.</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<ProjectPayload> Project => CommandPayloadJsonContext.Default.ProjectPayload;

    /// <summary>Type information for <see cref="LogsPayload"/>.</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<LogsPayload> Logs => CommandPayloadJsonContext.Default.LogsPayload;

    /// <summary>Type information for a payload given as JSON (a plugin's command).</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<JsonElement> Any => CommandPayloadJsonContext.Default.JsonElement;

    /// <summary>Type information for <see cref="RegistryLoginPayload"/>.</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<RegistryLoginPayload> RegistryLogin => CommandPayloadJsonContext.Default.RegistryLoginPayload;

    /// <summary>Type information for a list of variables.</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<ProjectVariable[]> Variables => CommandPayloadJsonContext.Default.ProjectVariableArray;

    /// <summary>Reads a payload; throws <see cref="WireFormatException"/> saying what is wrong in words a sender can act on:
    /// not an object, a required field missing, a field of the wrong JSON type.</summary>
    public static T Read<T>(JsonElement payload, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
    {
        if (payload.ValueKind != JsonValueKind.Object)
            throw new WireFormatException($"payload must be a JSON object, got {payload.ValueKind}");
        foreach (var property in info.Properties)
        {
            var present = payload.TryGetProperty(property.Name, out var value) && value.ValueKind != JsonValueKind.Null;
            if (!present)
            {
                if (property.IsRequired) throw new WireFormatException($"payload is missing \"{property.Name}\"");
                continue;
            }
            if (ExpectedKind(property.PropertyType) is { } expected && !expected.Kinds.Contains(value.ValueKind))
                throw new WireFormatException($"payload \"{property.Name}\" must be {expected.Name}, got {value.ValueKind}");
        }
        try
        {
            return payload.Deserialize(info) ?? throw new WireFormatException("payload is null");
        }
        catch (JsonException e)
        {
            throw new WireFormatException($"payload is not of the expected shape at {e.Path}: {e.Message}", e);
        }
    }

    private static (string Name, JsonValueKind[] Kinds)? ExpectedKind(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string)) return ("a string", [JsonValueKind.String]);
        if (type == typeof(int) || type == typeof(long)) return ("a number", [JsonValueKind.Number]);
        if (type == typeof(bool)) return ("true or false", [JsonValueKind.True, JsonValueKind.False]);
        if (type != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(type)) return ("an array", [JsonValueKind.Array]);
        return null;
    }
}

[JsonSourceGenerationOptions(MaxDepth = 32)]
[JsonSerializable(typeof(DeployComposePayload))]
[JsonSerializable(typeof(ProjectPayload))]
[JsonSerializable(typeof(LogsPayload))]
[JsonSerializable(typeof(RegistryLoginPayload))]
[JsonSerializable(typeof(ProjectVariable[]))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class CommandPayloadJsonContext : JsonSerializerContext;
