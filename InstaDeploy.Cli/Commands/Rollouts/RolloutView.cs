using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary>How a rollout (GET /rollouts/{id}) reads for people: its state, progress, strategy and a row per target.</summary>
public static class RolloutView
{
    public static string? Id(JsonElement rollout) => Styles.Text(rollout, "rollout_id");

    public static string? State(JsonElement rollout) => Styles.Text(rollout, "state");

    public static int Count(JsonElement rollout, string name) =>
        rollout.TryGetProperty("counts", out var counts) && counts.ValueKind == JsonValueKind.Object && counts.TryGetProperty(name, out var value) && value.TryGetInt32(out var n) ? n : 0;

    /// <summary>Targets that have ended (whatever the outcome).</summary>
    public static int Done(JsonElement rollout) =>
        Count(rollout, "total") - Count(rollout, "waiting") - Count(rollout, "deploying") - Count(rollout, "rolling_back");

    /// <summary>"3/10 done (2 succeeded, 1 failed, 2 deploying)".</summary>
    public static string Progress(JsonElement rollout)
    {
        var parts = RolloutStates.TargetStates.Where(s => s != "waiting" && Count(rollout, s) > 0).Select(s => $"{Count(rollout, s)} {s.Replace('_', ' ')}");
        var list = string.Join(", ", parts);
        return $"{Done(rollout)}/{Count(rollout, "total")} done" + (list.Length == 0 ? "" : $" ({list})");
    }

    /// <summary>"rollout ro-1 of web, 4 targets by role=web: max_parallel 1 (25%), …": what a watch starts with.</summary>
    public static string Header(JsonElement rollout) =>
        $"rollout {Id(rollout)} of {Styles.Text(rollout, "project_name")}, {Count(rollout, "total")} target(s) by {Styles.Text(rollout, "selector") ?? "agent ids"}: {Strategy(rollout)}"
        + (Styles.Text(rollout, "rollback_to") is { } to ? $"; rollback to {to}: {Styles.Text(rollout, "rollback_choice")}" : "");

    /// <summary>One line for the rollout as it is now: "rollout ro-1 running: 1/2 done (1 succeeded); reason".</summary>
    public static string Line(JsonElement rollout)
    {
        var reason = Styles.Text(rollout, "reason");
        return $"rollout {Id(rollout)} {State(rollout)}{(Awaiting(rollout) ? " (awaiting promotion)" : "")}: {Progress(rollout)}"
            + (string.IsNullOrEmpty(reason) ? "" : $"; {reason}");
    }

    /// <summary>One line for a target whose state changed, or null when only details changed.</summary>
    public static string? TargetLine(TargetChange change)
    {
        var after = change.After;
        var state = RolloutSnapshot.TargetState(after);
        if (change.Before is { } before && RolloutSnapshot.TargetState(before) == state) return null;
        var job = Node(after, "job_id");
        var detail = state switch
        {
            "deploying" => job is null ? "" : $" (job {job})",
            "succeeded" => Node(after, "revision") is { } revision ? $" (revision {revision}, job {job})" : job is null ? "" : $" (job {job})",
            "rolling_back" => Node(after, "rollback_job_id") is { } restore ? $" (job {restore})" : "",
            "rolled_back" => Node(after, "rollback_revision") is { } back ? $" (revision {back})" : "",
            _ => Node(after, "error") is { Length: > 0 } error ? ": " + error : "",
        };
        return $"  {Node(after, "agent_id")} {state}{detail}";
    }

    /// <summary>What a person can do about a paused rollout.</summary>
    public static string? PausedHint(JsonElement rollout)
    {
        if (State(rollout) != RolloutStates.Paused) return null;
        var id = Id(rollout);
        if (Awaiting(rollout)) return $"The canaries are done; `instadeploy rollouts promote {id}` deploys the other targets, `instadeploy rollouts cancel {id}` stops here.";
        if (Count(rollout, "failed") > 0) return $"`instadeploy rollouts resume {id}` accepts the failures and goes on (the rollout then ends failed), `instadeploy rollouts cancel {id}` stops it.";
        return $"`instadeploy rollouts resume {id}` goes on.";
    }

    public static bool Awaiting(JsonElement rollout) => rollout.TryGetProperty("awaiting_promotion", out var a) && a.ValueKind == JsonValueKind.True;

    /// <summary>"max_parallel 1 (25%), canary 1 (promoted by hand), batch wait 10 s, …".</summary>
    public static string? Strategy(JsonElement rollout)
    {
        if (!rollout.TryGetProperty("strategy", out var s) || s.ValueKind != JsonValueKind.Object) return null;
        string Of(string name) => Styles.Text(s, name) ?? "";
        string Spec(string value, string spec) => spec.EndsWith('%') ? $"{value} ({spec})" : value;
        var canary = Of("canary") == "0" ? "none" : $"{Of("canary")} ({(Of("auto_promote") == "yes" ? "promoted automatically" : "promoted by hand")}{(Of("promoted") == "yes" ? ", promoted" : "")})";
        return $"max_parallel {Spec(Of("max_parallel"), Of("max_parallel_spec"))}, canary {canary}, batch wait {Of("batch_wait_seconds")} s, " +
            $"health wait {Of("health_wait_seconds")} s, max_failures {Spec(Of("max_failures"), Of("max_failures_spec"))}, on_failure {Of("on_failure")}, offline {Of("offline")}";
    }

    public static TableView Targets(JsonElement rollout) => Targets(rollout, int.MaxValue, out _);

    /// <summary>The targets table; past <paramref name="maxRows"/> rows, the targets under way or failed first, and
    /// <paramref name="hidden"/> says how many were left out.</summary>
    public static TableView Targets(JsonElement rollout, int maxRows, out int hidden)
    {
        var table = new TableView("#", "AGENT", "BATCH", "STATE", "JOB", "REVISION", "ERROR") { EmptyMessage = "(no targets)" };
        var rows = rollout.TryGetProperty("targets", out var targets) ? Styles.Items(targets).ToList() : [];
        var shown = rows.Count <= maxRows ? rows
            : rows.Where(t => Styles.Text(t, "state") is "deploying" or "rolling_back" or "failed" or "rollback_failed").Take(maxRows).ToList();
        hidden = rows.Count - shown.Count;
        foreach (var target in shown)
            table.Add(Styles.Text(target, "ordinal"), Styles.Text(target, "agent_id"), Styles.Text(target, "batch"), Styles.Text(target, "state"),
                Styles.Text(target, "job_id"), Styles.Text(target, "revision"), Styles.Text(target, "error"));
        return table;
    }

    public static IEnumerable<(string, string?)> Details(JsonElement rollout) =>
    [
        ("id", Id(rollout)),
        ("project", Styles.Text(rollout, "project_name")),
        ("state", State(rollout)),
        ("reason", Styles.Text(rollout, "reason")),
        ("awaiting promotion", Styles.Text(rollout, "awaiting_promotion")),
        ("targets", Progress(rollout)),
        ("selector", Styles.Text(rollout, "selector")),
        ("compose sha256", Styles.Text(rollout, "compose_sha256")),
        ("rollback to", Styles.Text(rollout, "rollback_to") is { } to ? $"{to}: {Styles.Text(rollout, "rollback_choice")}" : null),
        ("strategy", Strategy(rollout)),
        ("created by", Styles.Text(rollout, "created_by")),
        ("created", Styles.Time(rollout, "created_at")),
        ("started", Styles.Time(rollout, "started_at")),
        ("finished", Styles.Time(rollout, "finished_at")),
    ];

    /// <summary>The live view on a terminal: a progress bar, the reason, and the targets under way.</summary>
    public static IRenderable Live(JsonElement rollout, int maxRows)
    {
        var total = Count(rollout, "total");
        var done = Done(rollout);
        const int Width = 30;
        var filled = total == 0 ? 0 : (int)Math.Round(Width * Math.Min(1.0, done / (double)total));
        var failed = Count(rollout, "failed") + Count(rollout, "rollback_failed");
        var header = new Markup($"[bold]{Markup.Escape(Id(rollout) ?? "")}[/] {Markup.Escape(State(rollout) ?? "")}{(Awaiting(rollout) ? " (awaiting promotion)" : "")}  " +
            $"[green]{new string('█', filled)}[/]{new string('░', Width - filled)} {done}/{total}" +
            (failed > 0 ? $"  [red]{failed} failed[/]" : ""));
        var reason = new Text(ApiException.OneLine(Styles.Text(rollout, "reason") ?? ""));
        var view = Targets(rollout, maxRows, out var hidden);
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in view.Columns) table.AddColumn(column);
        foreach (var row in view.Rows)
            table.AddRow(row.Select((cell, i) => (IRenderable)new Text(ApiException.OneLine(cell ?? ""), Styles.ForCell(view.Columns[i], cell))));
        IRenderable[] parts = hidden > 0
            ? [header, reason, table, new Text($"({hidden.ToString(CultureInfo.InvariantCulture)} more targets not shown: {Progress(rollout)})")]
            : [header, reason, table];
        return new Rows(parts);
    }

    private static string? Node(JsonObject target, string name) => target[name] switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v => v.ToJsonString(),
        _ => null,
    };
}
