using System.CommandLine;
using System.Text.Json;
using InstaDeploy.Cli.Api;
using InstaDeploy.Cli.Output;

namespace InstaDeploy.Cli.Commands.Agents;

/// <summary>
/// <c>instadeploy agents labels ID [KEY=VALUE...] [--rm KEY...]</c>: shows an agent's labels, or sets them
/// (PUT /agents/{id}/labels with the whole new set). Needs a control plane with agent labels.
/// </summary>
public sealed class AgentsLabelsCommand : BaseCommand
{
    private readonly Argument<string> _agent = AgentArguments.Id();
    private readonly Argument<string[]> _set = new("label") { Description = "KEY=VALUE labels to add or change", Arity = ArgumentArity.ZeroOrMore };
    private readonly Option<string[]> _remove = new("--rm") { Description = "A label key to remove (repeatable)", HelpName = "key" };

    public AgentsLabelsCommand(CommandServices services) : base("labels", "Show an agent's labels, or add (KEY=VALUE), change and remove (--rm KEY) them", services)
    {
        Add(_agent);
        Add(_set);
        Add(_remove);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        var id = context.Required(_agent);
        var changes = (context.Value(_set) ?? []).Select(Parse).ToList();
        var removals = context.Value(_remove) ?? [];
        var path = $"/agents/{InstaDeployApiClient.Escape(id)}";
        var agent = await context.Api.GetAsync(path, cancellationToken);
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var known = agent.TryGetProperty("labels", out var current);
        if (!known && changes.Count == 0 && removals.Length == 0)
            throw new CliException(ExitCodes.Usage, $"{context.Api.BaseUrl} does not report agent labels yet; it needs a newer control plane.");
        if (known && current.ValueKind == JsonValueKind.Object)
            foreach (var label in current.EnumerateObject()) labels[label.Name] = label.Value.GetString() ?? "";

        JsonElement shown;
        if (changes.Count == 0 && removals.Length == 0)
        {
            shown = current.ValueKind == JsonValueKind.Object ? current : JsonSerializer.SerializeToElement(labels);
        }
        else
        {
            foreach (var key in removals) labels.Remove(key);
            foreach (var (key, value) in changes) labels[key] = value;
            var answer = await context.Api.PutAsync($"{path}/labels", new { labels }, cancellationToken);
            shown = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("labels", out var updated) ? updated : JsonSerializer.SerializeToElement(labels);
        }

        context.Output.Write(shown, () =>
        {
            var table = new TableView("KEY", "VALUE") { EmptyMessage = $"Agent '{id}' has no labels." };
            if (shown.ValueKind == JsonValueKind.Object)
                foreach (var label in shown.EnumerateObject()) table.Add(label.Name, Styles.Text(label.Value));
            context.Output.WriteTable(table);
        }, () => shown.ValueKind == JsonValueKind.Object ? shown.EnumerateObject().Select(l => $"{l.Name}={Styles.Text(l.Value)}") : []);
        return ExitCodes.Success;
    }

    private static (string Key, string Value) Parse(string text)
    {
        var equals = text.IndexOf('=');
        if (equals <= 0) throw CliException.Usage($"'{text}' is not KEY=VALUE; remove a label with --rm KEY.");
        return (text[..equals], text[(equals + 1)..]);
    }
}
