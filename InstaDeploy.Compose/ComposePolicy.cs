using YamlDotNet.RepresentationModel;

namespace InstaDeploy.Compose;

/// <summary>
/// The deploy policy an operator can switch on: no <c>privileged</c> containers, no host network, PID or IPC
/// namespace, and no bind mount of a host path outside an allow-list (relative paths may not leave the project
/// folder). The control plane checks it before sending a deploy, and the agent checks it again before running one.
/// </summary>
public static class ComposePolicy
{
    /// <summary>
    /// Returns what the policy refuses in <paramref name="yaml"/> (empty when it is acceptable). Call it on a file that
    /// <see cref="ComposeValidator"/> accepted.
    /// </summary>
    /// <param name="yaml">The compose file.</param>
    /// <param name="bindMountAllowList">Absolute host paths under which bind mounts are allowed.</param>
    public static IReadOnlyList<string> Check(string yaml, IReadOnlyCollection<string> bindMountAllowList)
    {
        var stream = new YamlStream();
        var violations = new List<string>();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or InvalidOperationException)
        {
            return [$"the compose file is not valid YAML: {e.Message}"];
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root) return violations;
        var allowed = bindMountAllowList.Select(p => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p))).ToList();

        if (Child(root, "services") is YamlMappingNode services)
        {
            foreach (var (nameNode, serviceNode) in services.Children)
            {
                if (serviceNode is not YamlMappingNode service) continue;
                var name = (nameNode as YamlScalarNode)?.Value ?? "?";
                // Compose fills in ${VAR} from the project's variables after this check, so a field the policy looks at
                // must say its value itself: `privileged: ${P}` with P=true would otherwise pass.
                foreach (var key in new[] { "privileged", "network_mode", "pid", "ipc" })
                    if (Scalar(service, key) is { } value && value.Contains('$'))
                        violations.Add($"service '{name}' sets {key} from a variable ('{value}'); the deploy policy cannot check what it becomes, so write the value itself");
                if (Scalar(service, "privileged") is "true" or "True" or "TRUE" or "yes" or "on")
                    violations.Add($"service '{name}' sets privileged: true");
                foreach (var key in new[] { "network_mode", "pid", "ipc" })
                    if (Scalar(service, key) == "host") violations.Add($"service '{name}' sets {key}: host");
                if (Child(service, "volumes") is YamlSequenceNode volumes)
                    foreach (var volume in volumes.Children)
                        if (VariableIn(volume) is { } templated)
                            violations.Add($"service '{name}' mounts a volume given by a variable ('{templated}'); the deploy policy cannot check what it becomes, so write its source and type themselves");
                        else if (BindSource(volume) is { } source && Outside(source, allowed))
                            violations.Add($"service '{name}' bind-mounts '{source}', which is outside the allowed host paths ({Describe(allowed)})");
            }
        }

        // A named volume can be a bind mount in disguise: driver_opts {type: none, o: bind, device: /etc}.
        if (Child(root, "volumes") is YamlMappingNode namedVolumes)
            foreach (var (nameNode, volumeNode) in namedVolumes.Children)
                if (volumeNode is YamlMappingNode volume && Child(volume, "driver_opts") is YamlMappingNode options
                    && Scalar(options, "device") is { } device && (device.Contains('$') || Outside(device, allowed)))
                    violations.Add($"volume '{(nameNode as YamlScalarNode)?.Value}' binds the host path '{device}', which is outside the allowed host paths ({Describe(allowed)})");

        return violations;
    }

    /// <summary>The volume's source or type when it contains a variable reference, else null.</summary>
    private static string? VariableIn(YamlNode volume) => volume switch
    {
        YamlScalarNode { Value: { } shortSyntax } when shortSyntax.Split(':')[0].Contains('$') => shortSyntax,
        YamlMappingNode longSyntax => new[] { Scalar(longSyntax, "type"), Scalar(longSyntax, "source") }.FirstOrDefault(v => v is not null && v.Contains('$')),
        _ => null,
    };

    private static string? BindSource(YamlNode volume)
    {
        if (volume is YamlScalarNode { Value: { } shortSyntax })
        {
            var source = shortSyntax.Split(':')[0];
            return source.StartsWith('/') || source.StartsWith('.') || source.StartsWith('~') ? source : null; // else a named volume
        }
        if (volume is YamlMappingNode longSyntax && Scalar(longSyntax, "type") == "bind") return Scalar(longSyntax, "source") ?? "";
        return null;
    }

    private static bool Outside(string source, List<string> allowed)
    {
        if (source.StartsWith('~')) return true;
        if (!source.StartsWith('/'))
            return source.Replace('\\', '/').Split('/').Contains(".."); // relative: stays in the project folder unless it climbs out
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(source));
        return !allowed.Any(prefix => full == prefix || full.StartsWith(prefix + "/", StringComparison.Ordinal));
    }

    private static string Describe(List<string> allowed) => allowed.Count == 0 ? "none are allowed" : string.Join(", ", allowed);

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    private static string? Scalar(YamlMappingNode node, string key) => (Child(node, key) as YamlScalarNode)?.Value;
}
