using System.Text.Json;
using InstaDeploy.Cli.Output;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace InstaDeploy.Cli.Commands.Rollouts;

/// <summary>How a rollout (GET /rollouts/{id}) reads: its state, counts and one row per target.</summary>
public static class RolloutView
{
    public static string? Id(JsonElement rollout) => Styles.Text(rollout, "id") ?? Styles.Text(rollout, "rollout_id");

    public static string? State(JsonElement rollout) => Styles.Text(rollout, "state") ?? Styles.Text(rollout, "status");

    public static bool IsTerminal(string? state) => state?.ToLowerInvariant() is "succeeded" or "completed" or "failed" or "cancelled" or "canceled" or "rolled_back";

    public static bool Succeeded(string? state) => state?.ToLowerInvariant() is "succeeded" or "completed";

    public static int Count(JsonElement rollout, string name) =>
        rollout.TryGetProperty("counts", out var counts) && counts.ValueKind == JsonValueKind.Object && counts.TryGetProperty(name, out var value) && value.TryGetInt32(out var n) ? n : 0;

    /// <summary>"3/10 done, 1 failed": for the one-line progress when the output is not a terminal.</summary>
    public static string Summary(JsonElement rollout)
    {
        var counts = rollout.TryGetProperty("counts", out var c) && c.ValueKind == JsonValueKind.Object ? Styles.Text(c) : null;
        return $"rollout {Id(rollout)} {State(rollout)}{(counts is null ? "" : $" ({counts})")}";
    }

    public static TableView Targets(JsonElement rollout)
    {
        var table = new TableView("AGENT", "STATE", "JOB", "ERROR") { EmptyMessage = "(no targets)" };
        if (rollout.TryGetProperty("targets", out var targets))
            foreach (var target in Styles.Items(targets))
                table.Add(Styles.Text(target, "agent_id"), Styles.Text(target, "state") ?? Styles.Text(target, "status"), Styles.Text(target, "job_id"), Styles.Text(target, "error"));
        return table;
    }

    public static IEnumerable<(string, string?)> Details(JsonElement rollout) =>
    [
        ("id", Id(rollout)),
        ("project", Styles.Text(rollout, "project_name")),
        ("state", State(rollout)),
        ("counts", rollout.TryGetProperty("counts", out var counts) ? Styles.Text(counts) : null),
        ("strategy", rollout.TryGetProperty("strategy", out var strategy) ? Styles.Text(strategy) : null),
        ("created", Styles.Time(rollout, "created_at")),
        ("updated", Styles.Time(rollout, "updated_at")),
    ];

    /// <summary>The live view: a progress bar line and the targets table.</summary>
    public static IRenderable Live(JsonElement rollout)
    {
        var total = Math.Max(1, Count(rollout, "total"));
        var done = Count(rollout, "succeeded") + Count(rollout, "failed") + Count(rollout, "skipped");
        var width = 30;
        var filled = (int)Math.Round(width * Math.Min(1.0, done / (double)total));
        var header = new Markup($"[bold]{Markup.Escape(Id(rollout) ?? "")}[/] {Markup.Escape(State(rollout) ?? "")}  " +
            $"[green]{new string('█', filled)}[/]{new string('░', width - filled)} {done}/{Count(rollout, "total")}  " +
            $"[red]{Count(rollout, "failed")} failed[/]");
        var table = new Table().Border(TableBorder.Simple);
        var view = Targets(rollout);
        foreach (var column in view.Columns) table.AddColumn(column);
        foreach (var row in view.Rows)
            table.AddRow(row.Select((cell, i) => (IRenderable)new Text(cell ?? "", Styles.ForCell(view.Columns[i], cell))));
        return new Rows(header, table);
    }
}
