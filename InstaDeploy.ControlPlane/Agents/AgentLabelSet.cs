using System.Text.Json;
using InstaDeploy.ControlPlane.Data;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>An agent's labels: what it announced, overlaid with what an admin set (the admin's value wins; an admin's
/// null removes an announced label).</summary>
public static class AgentLabelSet
{
    private static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();

    public static IReadOnlyDictionary<string, string> Announced(this AgentEntity agent) => ReadAnnounced(agent.AnnouncedLabelsJson);

    public static IReadOnlyDictionary<string, string?>? Overrides(this AgentEntity agent) => ReadOverrides(agent.LabelOverridesJson);

    /// <summary>The labels selectors see.</summary>
    public static IReadOnlyDictionary<string, string> Effective(this AgentEntity agent) => Effective(agent.AnnouncedLabelsJson, agent.LabelOverridesJson);

    public static IReadOnlyDictionary<string, string> Effective(string announcedJson, string? overridesJson)
    {
        var announced = ReadAnnounced(announcedJson);
        if (overridesJson is null) return announced;
        var labels = new SortedDictionary<string, string>(announced.ToDictionary(), StringComparer.Ordinal);
        foreach (var (key, value) in ReadOverrides(overridesJson)!)
        {
            if (value is null) labels.Remove(key);
            else labels[key] = value;
        }
        return labels;
    }

    public static string ToJson<TValue>(IReadOnlyDictionary<string, TValue> labels) => JsonSerializer.Serialize(labels);

    private static IReadOnlyDictionary<string, string> ReadAnnounced(string json) =>
        json is "{}" or "" ? None : JsonSerializer.Deserialize<SortedDictionary<string, string>>(json) ?? (IReadOnlyDictionary<string, string>)None;

    private static SortedDictionary<string, string?>? ReadOverrides(string? json) =>
        json is null ? null : JsonSerializer.Deserialize<SortedDictionary<string, string?>>(json);
}
