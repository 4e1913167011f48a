using System.CommandLine;
using System.Text.Json;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Agents;

/// <summary>
/// <c>instadeploy agents labels ID [KEY=VALUE...] [--rm KEY] [--reset KEY] [--clear]</c>: an agent's labels, where each
/// comes from (what the agent announces, AGENT_LABELS, or an admin's override, which wins), and changes to the
/// overrides. The server replaces the whole set of overrides on PUT /agents/{id}/labels, so the new set is the current
/// one with the changes applied (two admins changing one agent's overrides at the same moment: the last write wins);
/// with none left it is DELETE /agents/{id}/labels. Output is the agent as the API answers it.
/// </summary>
public sealed class AgentsLabelsCommand : BaseCommand
{
    private readonly Argument<string> _agent = AgentArguments.Id();
    private readonly Argument<string[]> _set = new("label") { Description = "KEY=VALUE overrides to add or change (they win over what the agent announces)", Arity = ArgumentArity.ZeroOrMore };
    private readonly Option<string[]> _remove = new("--rm") { Description = "Remove a label, also one the agent announces (repeatable)", HelpName = "key" };
    private readonly Option<string[]> _reset = new("--reset") { Description = "Drop the override of a label: back to what the agent announces (repeatable)", HelpName = "key" };
    private readonly Option<bool> _clear = new("--clear") { Description = "Drop every override first: the agent's labels are what it announces (plus any KEY=VALUE given)" };

    public AgentsLabelsCommand(CommandServices services)
        : base("labels", "Show an agent's labels and where each comes from, or override them (admin): KEY=VALUE, --rm KEY, --reset KEY, --clear", services)
    {
        Add(_agent);
        Add(_set);
        Add(_remove);
        Add(_reset);
        Add(_clear);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var id = context.Required(_agent);
        var changes = (context.Value(_set) ?? []).Select(Parse).ToList();
        var removals = context.Value(_remove) ?? [];
        var resets = context.Value(_reset) ?? [];
        var clear = context.Value(_clear);
        var named = changes.Select(c => c.Key).Concat(removals).Concat(resets).ToList();
        if (named.GroupBy(k => k, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw CliException.Usage($"'{twice.Key}' is named twice; set, remove or reset each label once.");

        var path = $"/agents/{InstaDeployApiClient.Escape(id)}";
        var agent = await context.Api.GetAsync(path, cancellationToken);
        if (changes.Count > 0 || removals.Length > 0 || resets.Length > 0 || clear)
        {
            var overrides = clear ? new SortedDictionary<string, string?>(StringComparer.Ordinal) : Overrides(agent);
            var announced = Labels(agent, "announced_labels");
            foreach (var (key, value) in changes) overrides[key] = value;
            // A label the agent announces is removed by a null override; one that is only an override just goes.
            foreach (var key in removals)
                if (announced.ContainsKey(key)) overrides[key] = null;
                else overrides.Remove(key);
            foreach (var key in resets) overrides.Remove(key);
            agent = overrides.Count == 0
                ? await context.Api.DeleteAsync($"{path}/labels", cancellationToken)
                : await context.Api.PutAsync($"{path}/labels", new { labels = overrides }, cancellationToken);
        }

        context.Output.Write(agent, () => context.Output.WriteTable(Table(agent, id)),
            () => Labels(agent, "labels").Select(l => $"{l.Key}={l.Value}"));
        return ExitCodes.Success;
    }

    /// <summary>The labels selectors see, and where each comes from; labels an override removes are listed too.</summary>
    private static TableView Table(JsonElement agent, string id)
    {
        var table = new TableView("KEY", "VALUE", "SOURCE") { EmptyMessage = $"Agent '{id}' has no labels." };
        var effective = Labels(agent, "labels");
        var announced = Labels(agent, "announced_labels");
        var overrides = Overrides(agent);
        foreach (var key in effective.Keys.Union(overrides.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            announced.TryGetValue(key, out var own);
            var source = !overrides.TryGetValue(key, out var over) ? "agent"
                : over is null ? own is null ? "override (removes nothing the agent announces)" : $"removed by override (agent: {own})"
                : own is null || own == over ? "override" : $"override (agent: {own})";
            table.Add(key, effective.GetValueOrDefault(key, ""), source);
        }
        return table;
    }

    private static SortedDictionary<string, string> Labels(JsonElement agent, string property)
    {
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (agent.TryGetProperty(property, out var list) && list.ValueKind == JsonValueKind.Object)
            foreach (var label in list.EnumerateObject()) labels[label.Name] = label.Value.GetString() ?? "";
        return labels;
    }

    private static SortedDictionary<string, string?> Overrides(JsonElement agent)
    {
        var overrides = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        if (agent.TryGetProperty("label_overrides", out var list) && list.ValueKind == JsonValueKind.Object)
            foreach (var label in list.EnumerateObject()) overrides[label.Name] = label.Value.ValueKind == JsonValueKind.Null ? null : label.Value.GetString();
        return overrides;
    }

    private static KeyValuePair<string, string> Parse(string text)
    {
        var equals = text.IndexOf('=');
        if (equals <= 0) throw CliException.Usage($"'{ApiException.OneLine(text)}' is not KEY=VALUE; remove a label with --rm KEY.");
        return new(text[..equals], text[(equals + 1)..]);
    }
}
