using System.Text.Json;
using System.Text.Json.Serialization;

namespace InstaDeploy.Contracts;

/// <summary>Serialization of wire messages, shared by both sides so the JSON is spelled one way.</summary>
public static class WireJson
{
    /// <summary>Serializes a command to UTF-8 JSON.</summary>
    public static byte[] Serialize(AgentCommand command) => JsonSerializer.SerializeToUtf8Bytes(command, WireJsonContext.Default.AgentCommand);

    /// <summary>
    /// Serializes a command whose payload is already JSON text (as a job stores it), writing the payload as it is rather
    /// than parsing it into a <see cref="JsonElement"/> first: the same bytes as <see cref="Serialize(AgentCommand)"/>.
    /// </summary>
    public static byte[] SerializeCommand(string id, string type, string payloadJson, string? traceParent, int? timeoutSeconds)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + payloadJson.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, id);
            writer.WriteString("type"u8, type);
            writer.WritePropertyName("payload"u8);
            writer.WriteRawValue(payloadJson, skipInputValidation: true);
            if (traceParent is not null) writer.WriteString("traceparent"u8, traceParent);
            if (timeoutSeconds is { } timeout) writer.WriteNumber("timeout_seconds"u8, timeout);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Serializes a response to UTF-8 JSON.</summary>
    public static byte[] Serialize(AgentResponse response) => JsonSerializer.SerializeToUtf8Bytes(response, WireJsonContext.Default.AgentResponse);

    /// <summary>Serializes an agent's state report to UTF-8 JSON.</summary>
    public static byte[] Serialize(AgentStateMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, WireJsonContext.Default.AgentStateMessage);

    /// <summary>Serializes the agent's note that it stored its key.</summary>
    public static byte[] Serialize(AgentKeyStoredMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, WireJsonContext.Default.AgentKeyStoredMessage);

    /// <summary>Serializes the agent's note that it is stopping.</summary>
    public static byte[] Serialize(AgentShuttingDownMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, WireJsonContext.Default.AgentShuttingDownMessage);

    /// <summary>Serializes an agent's plugin list to UTF-8 JSON.</summary>
    public static byte[] Serialize(AgentPluginsMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, WireJsonContext.Default.AgentPluginsMessage);

    /// <summary>Serializes an agent's metrics sample.</summary>
    public static byte[] Serialize(AgentMetricsMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, WireJsonContext.Default.AgentMetricsMessage);

    /// <summary>
    /// Parses a message from an agent: an <see cref="AgentResponse"/> (it has a <c>job_id</c>) or an
    /// <see cref="AgentPluginsMessage"/>; throws <see cref="WireFormatException"/> for anything else.
    /// </summary>
    public static object ParseAgentMessage(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 32 });
        string? type = null;
        try
        {
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("job_id"u8)) return ParseResponse(utf8);
                    var isType = reader.ValueTextEquals("type"u8);
                    reader.Read();
                    if (isType && reader.TokenType == JsonTokenType.String) type = reader.GetString();
                    reader.Skip();
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string value that is not valid UTF-8.
            throw new WireFormatException($"message is not valid JSON: {e.Message}", e);
        }
        if (type == AgentPluginsMessage.MessageType)
            return Parse(utf8, WireJsonContext.Default.AgentPluginsMessage, "plugins message");
        if (type == AgentStateMessage.MessageType)
            return Parse(utf8, WireJsonContext.Default.AgentStateMessage, "state message");
        if (type == AgentKeyStoredMessage.MessageType)
            return Parse(utf8, WireJsonContext.Default.AgentKeyStoredMessage, "key message");
        if (type == AgentShuttingDownMessage.MessageType)
            return Parse(utf8, WireJsonContext.Default.AgentShuttingDownMessage, "shutdown message");
        if (type == AgentMetricsMessage.MessageType)
            return Parse(utf8, WireJsonContext.Default.AgentMetricsMessage, "metrics message");
        return ParseResponse(utf8); // reports what a response is missing
    }

    /// <summary>Parses a command; throws <see cref="WireFormatException"/> with a readable reason when it is not one.</summary>
    public static AgentCommand ParseCommand(ReadOnlySpan<byte> utf8)
    {
        var command = Parse(utf8, WireJsonContext.Default.AgentCommand, "command");
        if (string.IsNullOrEmpty(command.Id)) throw new WireFormatException("command has no \"id\"");
        if (string.IsNullOrEmpty(command.Type)) throw new WireFormatException("command has no \"type\"");
        return command;
    }

    /// <summary>Parses a response; throws <see cref="WireFormatException"/> with a readable reason when it is not one.</summary>
    public static AgentResponse ParseResponse(ReadOnlySpan<byte> utf8)
    {
        var response = Parse(utf8, WireJsonContext.Default.AgentResponse, "response");
        if (string.IsNullOrEmpty(response.JobId)) throw new WireFormatException("response has no \"job_id\"");
        if (string.IsNullOrEmpty(response.Status)) throw new WireFormatException("response has no \"status\"");
        return response;
    }

    private static T Parse<T>(ReadOnlySpan<byte> utf8, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8, info) ?? throw new WireFormatException($"{what} is null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new WireFormatException($"{what} is not valid JSON of the expected shape: {e.Message}", e);
        }
    }
}

/// <summary>A wire message that cannot be understood.</summary>
public sealed class WireFormatException(string message, Exception? inner = null) : Exception(message, inner);

[JsonSourceGenerationOptions(MaxDepth = 32)]
[JsonSerializable(typeof(AgentCommand))]
[JsonSerializable(typeof(AgentResponse))]
[JsonSerializable(typeof(AgentPluginsMessage))]
[JsonSerializable(typeof(AgentStateMessage))]
[JsonSerializable(typeof(AgentKeyStoredMessage))]
[JsonSerializable(typeof(AgentShuttingDownMessage))]
[JsonSerializable(typeof(AgentMetricsMessage))]
internal sealed partial class WireJsonContext : JsonSerializerContext;
