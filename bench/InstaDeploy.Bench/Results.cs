using System.Globalization;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.Bench;

/// <summary>One measured figure, with the target it is held against (if any).</summary>
internal sealed record Figure(string Scenario, string Name, double Value, string Unit, string Target, bool? Met, string Note = "");

internal sealed class Results
{
    private readonly List<Figure> _figures = [];
    private readonly List<string> _notes = [];

    public void Add(Figure figure)
    {
        lock (_figures) _figures.Add(figure);
        Console.WriteLine($"  {figure.Name}: {Format(figure.Value)} {figure.Unit}" +
            (figure.Target.Length > 0 ? $"  (target {figure.Target}: {(figure.Met switch { true => "met", false => "MISSED", null => "-" })})" : "") +
            (figure.Note.Length > 0 ? $"  [{figure.Note}]" : ""));
    }

    /// <summary>Adds a figure held against an upper bound.</summary>
    public void AtMost(string scenario, string name, double value, string unit, double limit, string note = "") =>
        Add(new Figure(scenario, name, value, unit, $"<= {Format(limit)} {unit}", value <= limit, note));

    /// <summary>Adds a figure held against a lower bound.</summary>
    public void AtLeast(string scenario, string name, double value, string unit, double limit, string note = "") =>
        Add(new Figure(scenario, name, value, unit, $">= {Format(limit)} {unit}", value >= limit, note));

    public void Info(string scenario, string name, double value, string unit, string note = "") =>
        Add(new Figure(scenario, name, value, unit, "", null, note));

    /// <summary>A figure as a multiple of its floor measured in the same run (Floors/FloorServer): for a time, how many
    /// times the floor's; for a rate, the share of the floor's reached.</summary>
    public void Ratio(string scenario, string name, double value, double floor, string unit)
    {
        if (double.IsNaN(value) || double.IsNaN(floor) || floor <= 0) return;
        Info(scenario, $"{name} ÷ floor", value / floor, "× floor", $"{Format(value)} {unit} vs the floor's {Format(floor)} {unit}");
    }

    public void Note(string text)
    {
        lock (_notes) _notes.Add(text);
        Console.WriteLine("  note: " + text);
    }

    public static string Format(double value) => double.IsNaN(value) ? "n/a"
        : Math.Abs(value) >= 100 ? value.ToString("N0", CultureInfo.InvariantCulture)
        : value.ToString("0.###", CultureInfo.InvariantCulture);

    public string ToMarkdown(string title, IReadOnlyDictionary<string, string> machine)
    {
        var md = new StringBuilder();
        md.AppendLine($"# {title}").AppendLine();
        foreach (var (key, value) in machine) md.AppendLine($"- {key}: {value}");
        md.AppendLine().AppendLine("| scenario | figure | value | target | met |").AppendLine("|---|---|---|---|---|");
        foreach (var f in _figures)
            md.AppendLine($"| {f.Scenario} | {f.Name} | {Format(f.Value)} {f.Unit} | {f.Target} | {f.Met switch { true => "yes", false => "**no**", null => "" }} |" + (f.Note.Length > 0 ? $" {f.Note}" : ""));
        if (_notes.Count > 0)
        {
            md.AppendLine().AppendLine("Notes:").AppendLine();
            foreach (var n in _notes) md.AppendLine($"- {n}");
        }
        return md.ToString();
    }

    private static readonly JsonSerializerOptions ResultJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public string ToJson(IReadOnlyDictionary<string, string> machine) => JsonSerializer.Serialize(
        new { machine, figures = _figures, notes = _notes }, ResultJson);
}
