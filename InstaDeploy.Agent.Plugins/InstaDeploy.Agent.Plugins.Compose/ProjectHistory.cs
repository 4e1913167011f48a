using System.Text.Json;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>
/// The last few deploys of each project, kept on the agent under <c>&lt;project&gt;/.instadeploy/history/&lt;revision&gt;/</c>
/// (owner-only): the compose file, the <c>.env</c> and secret names, and whether the deploy succeeded. A failed deploy
/// with rollback_on_failure restores the last successful one from here, without the control plane.
/// </summary>
public sealed class ProjectHistory(ProjectFolders folders, Microsoft.Extensions.Configuration.IConfiguration configuration)
{
    private const string HistoryFolderName = "history";
    private const string MetaFileName = "revision.json";

    /// <summary>How many revisions are kept per project (AGENT_KEEP_REVISIONS, default 5); the last successful one is always kept.</summary>
    public int Keep => int.TryParse(configuration["AGENT_KEEP_REVISIONS"], out var keep) && keep >= 1 ? keep : 5;

    /// <summary>Copies the files now in the project folder into a new history entry, not yet succeeded or failed.</summary>
    public async Task<HistoryEntry> RecordAsync(string projectName, string revision, CancellationToken cancellationToken)
    {
        var project = folders.FolderOf(projectName);
        var folder = Path.Combine(HistoryFolder(projectName), revision);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); // the same revision deployed again
        ProjectFolders.CreateOwnerOnlyDirectory(folder);
        foreach (var (source, name) in ProjectFiles(project))
        {
            if (File.Exists(source))
                await ProjectFolders.WriteAtomicallyAsync(Path.Combine(folder, name), await File.ReadAllBytesAsync(source, cancellationToken), ownerOnly: true, cancellationToken, durable: false);
        }
        var entry = new HistoryEntry(revision, null, DateTimeOffset.UtcNow, folder, NextSeq(projectName));
        await WriteMetaAsync(entry, cancellationToken);
        return entry;
    }

    /// <summary>The place of the next entry in the project's order: one after the newest. The order never depends on the
    /// wall clock, so a clock step cannot make an automatic rollback pick the wrong revision.</summary>
    public long NextSeq(string projectName) => 1 + Entries(projectName).Select(e => e.Seq).DefaultIfEmpty(0).Max();

    /// <summary>Records how the deploy ended, and drops entries past <see cref="Keep"/>.</summary>
    public async Task FinishAsync(string projectName, HistoryEntry entry, bool succeeded, CancellationToken cancellationToken)
    {
        await WriteMetaAsync(entry with { Succeeded = succeeded }, cancellationToken);
        var entries = Entries(projectName);
        var lastSucceeded = entries.FirstOrDefault(e => e.Succeeded == true);
        foreach (var old in entries.Skip(Keep).Where(e => e != lastSucceeded))
            Directory.Delete(old.Folder, recursive: true);
    }

    /// <summary>The newest successful entry other than <paramref name="except"/>, or null.</summary>
    public HistoryEntry? LastSucceeded(string projectName, HistoryEntry except) =>
        Entries(projectName).FirstOrDefault(e => e.Succeeded == true && e.Revision != except.Revision);

    /// <summary>Puts an entry's files back into the project folder (the compose file, and the .env or its absence).</summary>
    public async Task RestoreAsync(string projectName, HistoryEntry entry, CancellationToken cancellationToken)
    {
        var project = folders.FolderOf(projectName);
        foreach (var (target, name) in ProjectFiles(project))
        {
            var saved = Path.Combine(entry.Folder, name);
            if (File.Exists(saved))
                await ProjectFolders.WriteAtomicallyAsync(target, await File.ReadAllBytesAsync(saved, cancellationToken), ownerOnly: name != ProjectFolders.ComposeFileName, cancellationToken);
            else if (name != ProjectFolders.ComposeFileName)
                File.Delete(target);
        }
    }

    /// <summary>The compose file and the <c>.env</c> (empty when it had none) an entry would restore.</summary>
    public static async Task<(byte[] ComposeFile, byte[] DotEnv)> FilesOfAsync(HistoryEntry entry, CancellationToken cancellationToken)
    {
        var composeFile = Path.Combine(entry.Folder, ProjectFolders.ComposeFileName);
        var envFile = Path.Combine(entry.Folder, ProjectFolders.EnvFileName);
        return (File.Exists(composeFile) ? await File.ReadAllBytesAsync(composeFile, cancellationToken) : [],
            File.Exists(envFile) ? await File.ReadAllBytesAsync(envFile, cancellationToken) : []);
    }

    /// <summary>Every entry of the project, newest first.</summary>
    public IReadOnlyList<HistoryEntry> Entries(string projectName)
    {
        var history = HistoryFolder(projectName);
        return [.. Directory.GetDirectories(history)
            .Select(ReadMeta)
            .Where(e => e is not null)
            .Select(e => e!)
            .OrderByDescending(e => e.Seq).ThenByDescending(e => e.DeployedAt)];
    }

    private string HistoryFolder(string projectName)
    {
        var folder = Path.Combine(folders.StateFolderOf(projectName), HistoryFolderName);
        ProjectFolders.CreateOwnerOnlyDirectory(folder);
        return folder;
    }

    private static (string Path, string Name)[] ProjectFiles(string projectFolder) =>
    [
        (Path.Combine(projectFolder, ProjectFolders.ComposeFileName), ProjectFolders.ComposeFileName),
        (Path.Combine(projectFolder, ProjectFolders.EnvFileName), ProjectFolders.EnvFileName),
        (Path.Combine(projectFolder, ProjectFolders.StateFolderName, ProjectFolders.SecretNamesFileName), ProjectFolders.SecretNamesFileName),
    ];

    private static async Task WriteMetaAsync(HistoryEntry entry, CancellationToken cancellationToken)
    {
        var meta = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["revision"] = entry.Revision,
            ["succeeded"] = entry.Succeeded,
            ["deployed_at"] = entry.DeployedAt,
            ["seq"] = entry.Seq,
        });
        await ProjectFolders.WriteAtomicallyAsync(Path.Combine(entry.Folder, MetaFileName), meta, ownerOnly: true, cancellationToken, durable: false);
    }

    private static HistoryEntry? ReadMeta(string folder)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, MetaFileName)));
            var root = document.RootElement;
            bool? succeeded = root.GetProperty("succeeded").ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => null,
            };
            // Entries written before the order was kept have none: they sort before every newer one, by time among themselves.
            var seq = root.TryGetProperty("seq", out var order) && order.TryGetInt64(out var n) ? n : 0;
            return new HistoryEntry(root.GetProperty("revision").GetString()!, succeeded, root.GetProperty("deployed_at").GetDateTimeOffset(), folder, seq);
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null; // a half-written or foreign folder is not a revision
        }
    }
}

/// <summary>One deploy kept in a project's history.</summary>
/// <param name="Revision">The control plane's revision number, or a local name when the server gave none.</param>
/// <param name="Succeeded">true, false, or null while it runs (or if the agent stopped during it).</param>
/// <param name="DeployedAt">When the deploy started.</param>
/// <param name="Folder">Where its files are.</param>
/// <param name="Seq">Its place in the project's order of deploys (newest highest).</param>
public sealed record HistoryEntry(string Revision, bool? Succeeded, DateTimeOffset DeployedAt, string Folder, long Seq = 0);
