using System.Text.Json;

namespace InstaDeploy.Agent.Plugins;

/// <summary>The outcome of a command.</summary>
public sealed record CommandResult
{
    private CommandResult(bool succeeded, string error, string? summary, JsonElement? data)
    {
        Succeeded = succeeded;
        Error = error;
        Summary = summary;
        Data = data;
    }

    /// <summary>Whether the command succeeded (<c>COMPLETED</c>) or not (<c>FAILED</c>).</summary>
    public bool Succeeded { get; }

    /// <summary>Why it failed, in words an operator can act on; empty on success.</summary>
    public string Error { get; }

    /// <summary>A last line for the job's logs, e.g. "Deployment successful".</summary>
    public string? Summary { get; }

    /// <summary>Structured data for the caller (sent as the response's <c>result</c> field).</summary>
    public JsonElement? Data { get; }

    /// <summary>A successful result.</summary>
    public static CommandResult Success(string? summary = null, JsonElement? data = null) => new(true, "", summary, data);

    /// <summary>A failed result with the reason.</summary>
    public static CommandResult Failure(string error, JsonElement? data = null) => new(false, error, null, data);
}
