using System.Text.Json;
using System.Text.Json.Serialization;

namespace InstaDeploy.Contracts;

/// <summary>A command, control plane to agent: <c>{"id": "...", "type": "DEPLOY_COMPOSE", "payload": {...}}</c>.</summary>
public sealed record AgentCommand
{
    /// <summary>The job id; the agent answers with it as <c>job_id</c>.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>One of <see cref="CommandTypes"/>, or a type a plugin adds.</summary>
    [JsonPropertyName("type")]
    public required string Type { get; init; }

    /// <summary>The command's arguments; a JSON object.</summary>
    [JsonPropertyName("payload")]
    public JsonElement Payload { get; init; }

    /// <summary>The acknowledgement of a persisted result: <c>{"id": "&lt;job id&gt;", "type": "ACK", "payload": {}}</c>.</summary>
    public static AgentCommand Acknowledge(string jobId) => new() { Id = jobId, Type = CommandTypes.Ack, Payload = EmptyPayload };

    private static readonly JsonElement EmptyPayload = JsonElement.Parse("{}");

    /// <summary>W3C trace context of the job (an extra field a seed peer ignores).</summary>
    [JsonPropertyName("traceparent")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceParent { get; init; }

    /// <summary>How long the job may take, counted from when the agent receives it; the agent cancels it after that
    /// (an extra field a seed peer ignores).</summary>
    [JsonPropertyName("timeout_seconds")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? TimeoutSeconds { get; init; }
}
