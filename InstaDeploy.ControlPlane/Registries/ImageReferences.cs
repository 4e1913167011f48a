using InstaDeploy.Compose;

namespace InstaDeploy.ControlPlane.Registries;

/// <summary>
/// Which registries a compose file's images come from: the host part of every service's <c>image</c>, after compose's
/// interpolation with the project's variables (an image without a host is Docker Hub, <c>docker.io</c>). Some cannot be
/// known on the control plane: an image naming a variable compose takes from the agent's environment, a service that
/// <c>extends</c> another file, an <c>include</c>. Then the deploy carries every login that applies to its agent.
/// </summary>
public static class ImageReferences
{
    public const string DockerHub = "docker.io";

    /// <summary>The registry hosts of the file's images, and whether some image's host cannot be known here.</summary>
    public static (IReadOnlySet<string> Hosts, bool SomeUnknown) RegistryHosts(string yaml, ComposeVariables variables)
    {
        var hosts = new HashSet<string>(StringComparer.Ordinal);
        IReadOnlyList<ComposeNode> documents;
        try
        {
            documents = ComposeYaml.Parse(yaml);
        }
        catch (ComposeYamlException)
        {
            return (hosts, true);
        }
        var unknown = false;
        foreach (var document in documents.OfType<ComposeMap>())
        {
            if (document["include"] is not null) unknown = true;
            if (document["services"] is not ComposeMap services) continue;
            foreach (var (_, node) in services.Entries)
            {
                if (node is not ComposeMap service) continue;
                if (service["extends"] is ComposeMap { } extends && extends["file"] is not null) unknown = true;
                if (service["image"] is not ComposeScalar { Text: { } image }) continue;
                var interpolated = variables.Interpolate(image);
                if (interpolated.Text is null) unknown = true;
                else hosts.Add(HostOf(interpolated.Text));
            }
        }
        return (hosts, unknown);
    }

    /// <summary>The registry host of an image reference, as Docker reads it: the first component when it has a '.' or a
    /// ':' or is <c>localhost</c>, else Docker Hub.</summary>
    public static string HostOf(string image)
    {
        var slash = image.IndexOf('/');
        if (slash <= 0) return DockerHub;
        var first = image[..slash];
        return first.Contains('.') || first.Contains(':') || first == "localhost" ? Normalize(first) : DockerHub;
    }

    /// <summary>A registry host as stored: lower case, with Docker Hub's other names made <c>docker.io</c>.</summary>
    public static string Normalize(string host)
    {
        var lower = host.Trim().ToLowerInvariant();
        return lower is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" ? DockerHub : lower;
    }
}
