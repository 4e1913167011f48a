using System.Text.Json;
using System.Text.Json.Serialization;

namespace InstaDeploy.Contracts;

/// <summary>A response, agent to control plane:
/// <c>{"job_id": "...", "status": "COMPLETED", "logs": "...", "error": ""}</c>.
/// <c>RUNNING</c> responses carry only the new output lines in <see cref="Logs"/>; the final one carries all of it.</summary>
public sealed record AgentResponse
{
    // A missing or null "logs"/"error" (a seed peer may omit them) reads as empty.
    private readonly string _logs = "";
    private readonly string _error = "";

    /// <summary>The id of the command this answers.</summary>
    [JsonPropertyName("job_id")]
    public required string JobId { get; init; }

    /// <summary><c>RUNNING</c>, <c>COMPLETED</c> or <c>FAILED</c>.</summary>
    [JsonPropertyName("status")]
    public required string Status { get; init; }

    /// <summary>Output lines, newline separated.</summary>
    [JsonPropertyName("logs")]
    public string Logs { get => _logs; init => _logs = value ?? ""; }

    /// <summary>Why the command failed; empty on success.</summary>
    [JsonPropertyName("error")]
    public string Error { get => _error; init => _error = value ?? ""; }

    /// <summary>Structured result (for example the containers of a <c>STATUS</c>); an extra field a seed peer ignores.</summary>
    [JsonPropertyName("result")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Result { get; init; }
}
