namespace InstaDeploy.Compose;

/// <summary>
/// Checks a compose file before anything is sent: YAML compose can read, each document a mapping, at least one with a
/// non-empty <c>services</c> mapping. It reads every document through <see cref="ComposeYaml"/>, whose depth and
/// alias-expansion limits hold for all of them, so neither deep nesting nor an alias bomb ("billion laughs") in any
/// document can exhaust the control plane, the agent, or the agent's compose, which would expand them.
/// </summary>
public static class ComposeValidator
{
    /// <summary>The deepest nesting accepted.</summary>
    public const int MaxDepth = ComposeYaml.MaxDepth;

    /// <summary>The most YAML nodes the file may hold once its aliases are expanded.</summary>
    public const long MaxExpandedNodes = ComposeYaml.MaxExpandedNodes;

    /// <summary>Returns null when the file is acceptable, else a message saying what to fix.</summary>
    public static string? Validate(string yaml)
    {
        IReadOnlyList<ComposeNode> documents;
        try
        {
            documents = ComposeYaml.Parse(yaml);
        }
        catch (ComposeYamlException e)
        {
            return e.Message;
        }
        var content = documents.Where(d => d is not ComposeScalar { Text: null }).ToList();
        if (content.Count == 0) return "the compose file is empty";
        if (content.Any(d => d is not ComposeMap))
            return "the compose file's top level must be a mapping (with a 'services' key)";
        var services = content.Cast<ComposeMap>().Select(d => d["services"]).Where(s => s is not null).ToList();
        if (services.Count == 0) return "the compose file has no 'services' key";
        if (services.Any(s => s is not ComposeMap and not ComposeScalar { Text: null }))
            return "'services' must be a mapping of service names to their definitions";
        if (!services.Any(s => s is ComposeMap { Entries.Count: > 0 }))
            return "'services' is empty: define at least one service";
        return null;
    }
}
