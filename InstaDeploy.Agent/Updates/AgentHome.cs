using System.Text.Json;
using System.Text.Json.Serialization;
using InstaDeploy.Contracts.Bundles;

namespace InstaDeploy.Agent.Updates;

/// <summary>
/// The agent's installation folder as its launcher keeps it (AGENT_HOME):
/// <c>versions/&lt;version&gt;/</c> one unpacked release each, <c>current</c> a symbolic link to the one that runs
/// (switched atomically: a new link renamed over the old), <c>update.json</c> the update under way, written by the
/// running agent (pending) and the launcher (switching, rolled_back), and <c>confirmed</c>, written by a new version
/// once it has connected and passed its health check; <c>plugins/</c> the plugins installed from the control plane,
/// which outlive the versions. Agents started by the launcher run in the home (relative state and projects folders
/// are there too).
/// </summary>
internal sealed partial class AgentHome(string root)
{
    /// <summary>The exit code an agent stops with to be restarted into the version its update.json names.</summary>
    public const int RestartExitCode = 75;

    public string Root { get; } = Path.GetFullPath(root);
    public string Versions => Path.Combine(Root, "versions");
    public string Current => Path.Combine(Root, "current");
    public string StateFile => Path.Combine(Root, "update.json");
    public string ConfirmedFile => Path.Combine(Root, "confirmed");
    public string Downloads => Path.Combine(Root, "downloads");

    public string VersionFolder(string version) => Path.Combine(Versions, version);

    /// <summary>The home of a program unpacked as <c>&lt;home&gt;/versions/&lt;version&gt;/</c>, or null.</summary>
    public static AgentHome? OfProgramFolder(string folder)
    {
        var versionFolder = new DirectoryInfo(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar));
        return versionFolder.Parent is { Name: "versions", Parent: { } home } ? new AgentHome(home.FullName) : null;
    }

    /// <summary>The version <c>current</c> points at, or null.</summary>
    public string? CurrentVersion()
    {
        var target = new FileInfo(Current).LinkTarget;
        return target is null ? null : Path.GetFileName(target.TrimEnd(Path.DirectorySeparatorChar));
    }

    /// <summary>Points <c>current</c> at <paramref name="version"/>: a new link renamed over the old one, so at every moment
    /// it names one complete version.</summary>
    public void SwitchTo(string version)
    {
        var temporary = Current + ".new";
        File.Delete(temporary);
        File.CreateSymbolicLink(temporary, Path.Combine("versions", version));
        // rename(2) itself: File.Move refuses a link to a folder (it looks at what the link points to).
        if (Rename(temporary, Current) != 0)
            throw new IOException($"cannot rename {temporary} over {Current} (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        Commands.DurableFolder.Sync(Root);
    }

    /// <summary>The program of a version: its manifest's entry (kept beside it when unpacked), else InstaDeploy.Agent.</summary>
    public string EntryOf(string version)
    {
        var folder = VersionFolder(version);
        var manifest = Path.Combine(folder, BundleManifest.FileName);
        var entry = File.Exists(manifest) ? BundleManifest.Parse(File.ReadAllBytes(manifest)).Entry : null;
        return Path.Combine(folder, entry ?? "InstaDeploy.Agent");
    }

    /// <summary>Deletes the version folders other than <paramref name="keep"/> (the current one, the previous one a
    /// rollback needs, the launcher's own); a folder being unpacked (<c>.partial</c>) is left alone. Returns what went.</summary>
    public IReadOnlyList<string> Prune(IReadOnlyCollection<string> keep)
    {
        var removed = new List<string>();
        if (!Directory.Exists(Versions)) return removed;
        foreach (var folder in Directory.GetDirectories(Versions))
        {
            var name = Path.GetFileName(folder);
            if (keep.Contains(name) || name.EndsWith(".partial", StringComparison.Ordinal)) continue;
            Directory.Delete(folder, recursive: true);
            removed.Add(name);
        }
        return removed;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int Rename(string from, string to);

    public UpdateState? ReadState()
    {
        try
        {
            return File.Exists(StateFile) ? JsonSerializer.Deserialize(File.ReadAllBytes(StateFile), UpdateStateJson.Default.UpdateState) : null;
        }
        catch (JsonException)
        {
            return null; // a torn or foreign file: no update is under way
        }
    }

    public void WriteState(UpdateState state)
    {
        var temporary = StateFile + ".tmp";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(state, UpdateStateJson.Default.UpdateState));
        File.Move(temporary, StateFile, overwrite: true);
        Commands.DurableFolder.Sync(Root);
    }

    public void ClearState()
    {
        File.Delete(StateFile);
        File.Delete(ConfirmedFile);
    }

    /// <summary>Whether <paramref name="version"/> wrote its confirmation.</summary>
    public bool IsConfirmed(string version) => File.Exists(ConfirmedFile) && File.ReadAllText(ConfirmedFile).Trim() == version;

    public void Confirm(string version)
    {
        File.WriteAllText(ConfirmedFile + ".tmp", version);
        File.Move(ConfirmedFile + ".tmp", ConfirmedFile, overwrite: true);
    }
}

/// <summary>An update under way, in <c>update.json</c>.</summary>
internal sealed record UpdateState
{
    /// <summary>The running agent unpacked the new version and stops to be switched.</summary>
    public const string Pending = "pending";
    /// <summary>The launcher started the new version and waits for its confirmation.</summary>
    public const string Switching = "switching";
    /// <summary>The new version did not confirm: the previous one runs again and reports why.</summary>
    public const string RolledBack = "rolled_back";

    [JsonPropertyName("state")] public required string State { get; init; }
    [JsonPropertyName("job_id")] public required string JobId { get; init; }
    [JsonPropertyName("from")] public required string From { get; init; }
    [JsonPropertyName("to")] public required string To { get; init; }
    [JsonPropertyName("confirm_seconds")] public int ConfirmSeconds { get; init; }
    [JsonPropertyName("reason")] public string Reason { get; init; } = "";
}

[JsonSerializable(typeof(UpdateState))]
internal sealed partial class UpdateStateJson : JsonSerializerContext;
