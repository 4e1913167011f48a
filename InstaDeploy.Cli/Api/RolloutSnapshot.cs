using System.Text.Json;
using System.Text.Json.Nodes;

namespace InstaDeploy.Cli.Api;

/// <summary>A target row that changed, as it was before (null if unknown) and as it is now.</summary>
public sealed record TargetChange(JsonObject? Before, JsonObject After);

/// <summary>
/// A rollout as GET /rollouts/{id} answers it, kept up to date from its events (GET /rollouts/{id}/events): a
/// <c>rollout</c> event replaces the rollout's own fields, a <c>target</c> event one target's row. The counts are
/// recomputed from the rows, since a target's job ending is an event of its own without new counts.
/// </summary>
public sealed class RolloutSnapshot
{
    private readonly JsonObject _rollout;
    private readonly SortedDictionary<int, JsonObject> _targets = [];

    private RolloutSnapshot(JsonObject rollout)
    {
        if (rollout["targets"] is JsonArray rows)
            foreach (var row in rows.OfType<JsonObject>())
                if (Ordinal(row) is { } ordinal) _targets[ordinal] = (JsonObject)row.DeepClone();
        rollout.Remove("targets");
        _rollout = rollout;
        LastEventId = rollout["last_event_id"] is JsonValue id && id.TryGetValue<long>(out var n) ? n : 0;
    }

    /// <summary>The number of the last event applied: where the event stream resumes.</summary>
    public long LastEventId { get; private set; }

    public string Id => Text("rollout_id") ?? "";

    public string State => Text("state") ?? "";

    public string Reason => Text("reason") ?? "";

    public bool AwaitingPromotion => _rollout["awaiting_promotion"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    public IReadOnlyCollection<JsonObject> Targets => _targets.Values;

    public int Count(string targetState) => _targets.Values.Count(t => TargetState(t) == targetState);

    public static RolloutSnapshot From(JsonElement rollout) =>
        JsonNode.Parse(rollout.GetRawText()) is JsonObject root && root["rollout_id"] is not null
            ? new RolloutSnapshot(root)
            : throw new CliException(ExitCodes.InternalError, "The control plane answered a rollout without its rollout_id.");

    /// <summary>Applies a <c>rollout</c> or <c>target</c> event; the target's change, if it was one. Events at or
    /// before <see cref="LastEventId"/> were applied already and are ignored.</summary>
    public TargetChange? Apply(ServerSentEvent message)
    {
        if (message.Event is not ("rollout" or "target")) return null;
        if (message.Id is { } text && long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            if (id <= LastEventId) return null;
            LastEventId = id;
        }
        if (JsonNode.Parse(message.Data) is not JsonObject data) return null;
        if (message.Event == "rollout")
        {
            foreach (var (name, value) in data.ToList())
                if (name != "targets") _rollout[name] = value?.DeepClone();
            _rollout["last_event_id"] = LastEventId;
            return null;
        }
        if (Ordinal(data) is not { } ordinal) return null;
        _targets.TryGetValue(ordinal, out var before);
        _targets[ordinal] = data;
        return new TargetChange(before, data);
    }

    /// <summary>The rollout in the API's shape, its counts from the rows.</summary>
    public JsonElement ToJson()
    {
        var copy = (JsonObject)_rollout.DeepClone();
        copy["counts"] = Counts();
        copy["targets"] = new JsonArray([.. _targets.Values.Select(t => t.DeepClone())]);
        return JsonSerializer.SerializeToElement(copy);
    }

    private JsonObject Counts()
    {
        var counts = new JsonObject { ["total"] = _targets.Count };
        foreach (var state in RolloutStates.TargetStates) counts[state] = Count(state);
        return counts;
    }

    private string? Text(string name) => _rollout[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static string? TargetState(JsonObject target) => target["state"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static int? Ordinal(JsonObject target) => target["ordinal"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : null;
}

/// <summary>The rollout and target states of the control plane (GET /rollouts/{id}).</summary>
public static class RolloutStates
{
    public const string Succeeded = "succeeded";
    public const string Paused = "paused";

    /// <summary>Every target state, in the order the counts list them.</summary>
    public static readonly string[] TargetStates = ["waiting", "deploying", "succeeded", "failed", "skipped", "cancelled", "rolling_back", "rolled_back", "rollback_failed"];

    /// <summary>A rollout in one of these has ended; only <see cref="Succeeded"/> is a success.</summary>
    public static bool IsFinal(string? state) => state is "succeeded" or "failed" or "rolled_back" or "cancelled";

    /// <summary>Targets in these are still under way.</summary>
    public static bool IsTargetOpen(string? state) => state is "waiting" or "deploying" or "rolling_back";
}
