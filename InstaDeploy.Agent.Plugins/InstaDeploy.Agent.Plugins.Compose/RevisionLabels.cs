using System.Text;
using InstaDeploy.Compose;
using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>
/// Every container a deploy starts carries the control plane's revision number (<see cref="ContainerLabels.Revision"/>),
/// so what the engine runs can be told from the engine itself, whatever happened to the agent or the control plane
/// meanwhile. Compose takes the label from a second, generated file given after the project's own: its services with
/// the label added, nothing else.
/// </summary>
public static class RevisionLabels
{
    /// <summary>The file's name, in the project's <c>.instadeploy/</c> folder (which containers may not mount).</summary>
    public const string FileName = "revision-labels.yml";

    /// <summary>The override that labels each service of <paramref name="composeFile"/> with <paramref name="revision"/>;
    /// null when the file names no service compose would run.</summary>
    public static byte[]? OverrideFor(byte[] composeFile, string revision)
    {
        IReadOnlyList<ComposeNode> documents;
        try
        {
            documents = ComposeYaml.Parse(Encoding.UTF8.GetString(composeFile));
        }
        catch (ComposeYamlException)
        {
            return null; // compose itself will say what is wrong with the file
        }
        if (documents.Count == 0 || documents[0] is not ComposeMap root || root["services"] is not ComposeMap services || services.Entries.Count == 0)
            return null;
        var yaml = new StringBuilder("services:\n");
        foreach (var (name, _) in services.Entries)
            yaml.Append("  ").Append(Quoted(name)).Append(":\n    labels:\n      ").Append(ContainerLabels.Revision).Append(": ").Append(Quoted(revision)).Append('\n');
        return Encoding.UTF8.GetBytes(yaml.ToString());
    }

    /// <summary>A YAML double-quoted scalar: service names and revisions come from the deploy, so they are never written bare.</summary>
    private static string Quoted(string text) =>
        "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
