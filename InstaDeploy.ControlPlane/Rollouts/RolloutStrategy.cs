using System.Globalization;
using System.Text.Json;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs.Submission;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>Reads a rollout's strategy and resolves counts and percentages against its number of targets.</summary>
internal static class RolloutStrategy
{
    public sealed record Resolved(int MaxParallel, string MaxParallelSpec, int Canary, bool AutoPromote, int BatchWaitSeconds, int MaxFailures, string MaxFailuresSpec,
        string OnFailure, string Offline);

    public const int MaxBatchWaitSeconds = 86_400;

    public static (Resolved? Strategy, CommandRefusal? Problem) Resolve(RolloutStrategyRequest? request, int targets)
    {
        request ??= new RolloutStrategyRequest();
        var (maxParallel, parallelSpec, parallelError) = CountOrPercent(request.MaxParallel, targets, 1);
        if (parallelError is not null) return (null, CommandRefusal.Invalid("strategy.max_parallel", parallelError));
        var (maxFailures, failuresSpec, failuresError) = CountOrPercent(request.MaxFailures, targets, 1);
        if (failuresError is not null) return (null, CommandRefusal.Invalid("strategy.max_failures", failuresError));

        var (canary, autoPromote, canaryError) = Canary(request.Canary, targets);
        if (canaryError is not null) return (null, CommandRefusal.Invalid("strategy.canary", canaryError));
        if (request.BatchWaitSeconds is < 0 or > MaxBatchWaitSeconds)
            return (null, CommandRefusal.Invalid("strategy.batch_wait_seconds", $"must be between 0 and {MaxBatchWaitSeconds}"));
        var onFailure = request.OnFailure ?? RolloutFailureActions.Pause;
        if (onFailure is not (RolloutFailureActions.Pause or RolloutFailureActions.Continue or RolloutFailureActions.Rollback))
            return (null, CommandRefusal.Invalid("strategy.on_failure", "must be pause, continue or rollback"));
        var offline = request.Offline ?? "wait";
        if (offline is not ("wait" or "skip"))
            return (null, CommandRefusal.Invalid("strategy.offline", "must be wait (an offline target's job waits for its agent) or skip"));
        return (new Resolved(maxParallel, parallelSpec, canary, autoPromote, request.BatchWaitSeconds ?? 0, maxFailures, failuresSpec, onFailure, offline), null);
    }

    /// <summary>A count (3, "3") or a percentage of the targets ("25%", at least 1 once above 0).</summary>
    private static (int Value, string Spec, string? Error) CountOrPercent(JsonElement? given, int targets, int byDefault)
    {
        const string Rule = "must be a count of 1 or more (10) or a percentage of the targets (\"25%\")";
        if (given is not { } value || value.ValueKind == JsonValueKind.Null) return (Math.Min(byDefault, Math.Max(targets, 1)), byDefault.ToString(CultureInfo.InvariantCulture), null);
        string text;
        if (value.ValueKind == JsonValueKind.Number) text = value.GetRawText();
        else if (value.ValueKind == JsonValueKind.String) text = value.GetString()!.Trim();
        else return (0, "", Rule);
        if (text.EndsWith('%'))
        {
            if (!decimal.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var percent) || percent <= 0 || percent > 100)
                return (0, "", $"'{Shown(text)}' is not a percentage between 0 and 100; " + Rule);
            return ((int)Math.Max(1, Math.Ceiling(percent * targets / 100m)), text, null);
        }
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
            return (0, "", $"'{Shown(text)}' is not valid; " + Rule);
        return (Math.Min(count, Math.Max(targets, 1)), text, null);
    }

    private static (int Count, bool AutoPromote, string? Error) Canary(JsonElement? given, int targets)
    {
        const string Rule = "must be a count (2) or {\"count\": 2, \"auto_promote\": true}";
        if (given is not { } value || value.ValueKind == JsonValueKind.Null) return (0, false, null);
        int count;
        var autoPromote = false;
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (!value.TryGetInt32(out count)) return (0, false, Rule);
        }
        else if (value.ValueKind == JsonValueKind.Object)
        {
            if (!value.TryGetProperty("count", out var c) || !c.TryGetInt32(out count)) return (0, false, "count is required: " + Rule);
            if (value.TryGetProperty("auto_promote", out var a))
            {
                if (a.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return (0, false, "auto_promote must be true or false");
                autoPromote = a.GetBoolean();
            }
        }
        else return (0, false, Rule);
        if (count < 0 || count >= Math.Max(targets, 1) && count != 0)
            return (0, false, $"is {count}: canaries must be fewer than the {targets} targets (0 for none), so some wait for the promotion");
        return (count, autoPromote, null);
    }

    private static string Shown(string text) => Contracts.AgentLabels.Shown(text);
}
