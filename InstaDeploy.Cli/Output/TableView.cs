using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace InstaDeploy.Cli.Output;

/// <summary>Columns and rows of a human table, built by a command and printed by <see cref="CliOutput"/>.</summary>
public sealed class TableView(params string[] columns)
{
    public IReadOnlyList<string> Columns { get; } = columns;

    public List<string?[]> Rows { get; } = [];

    /// <summary>What to say instead of an empty table.</summary>
    public string EmptyMessage { get; init; } = "(none)";

    public TableView Add(params string?[] cells)
    {
        Rows.Add(cells);
        return this;
    }
}

/// <summary>Colours for states, and the way times and values are shown.</summary>
public static class Styles
{
    public static Style ForCell(string column, string? value)
    {
        if (value is null || column is not ("STATUS" or "STATE" or "OUTCOME" or "ONLINE" or "HEALTH" or "ACTIVE" or "status" or "state" or "outcome" or "online" or "healthy"))
            return Style.Plain;
        return value.ToLowerInvariant() switch
        {
            "completed" or "succeeded" or "running" or "online" or "yes" or "true" or "healthy" or "active" => new Style(Color.Green),
            "failed" or "timed_out" or "expired" or "stop_failed" or "offline" or "no" or "false" or "unhealthy" or "rolled_back" or "rollback_failed" or "cancelled" or "exited" or "dead" => new Style(Color.Red),
            "pending" or "sent" or "deploying" or "stopping" or "paused" or "waiting" or "starting" or "degraded" or "rolling_back" or "skipped" => new Style(Color.Yellow),
            _ => Style.Plain,
        };
    }

    /// <summary>A time from the API as "2026-11-27 10:15:00Z", in UTC: the same on every machine of a team.</summary>
    public static string? Time(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : null;

    /// <summary>A property as text: strings as they are, numbers and booleans as JSON, null and missing as null.</summary>
    public static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) ? Text(value) : null;

    public static string? Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => "yes",
        JsonValueKind.False => "no",
        JsonValueKind.Array => string.Join(", ", value.EnumerateArray().Select(Text)),
        JsonValueKind.Object => string.Join(", ", value.EnumerateObject().Select(p => $"{p.Name}={Text(p.Value)}")),
        _ => value.GetRawText(),
    };

    public static IEnumerable<JsonElement> Items(JsonElement array) =>
        array.ValueKind == JsonValueKind.Array ? array.EnumerateArray() : [];
}
