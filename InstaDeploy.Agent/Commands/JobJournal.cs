namespace InstaDeploy.Agent.Commands;

/// <summary>
/// What the agent remembers about jobs, on disk under AGENT_STATE_DIR, so that nothing is lost or run twice across
/// reconnects and agent restarts:
/// <list type="bullet">
/// <item><c>&lt;job&gt;.started</c> — written before the job runs. Found at start without a result, the job was
/// interrupted (the agent crashed or was killed): it is reported FAILED and never run again.</item>
/// <item><c>&lt;job&gt;.result</c> — the final response, written before it is sent. A re-sent command is answered
/// from it; it is sent again after every reconnect until the control plane acknowledges it.</item>
/// </list>
/// </summary>
internal sealed class JobJournal
{
    private readonly string _folder;
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);

    public JobJournal(AgentOptions options)
    {
        _folder = Path.Combine(options.StateDirectory, "jobs");
        Directory.CreateDirectory(_folder);
    }

    /// <summary>What to do with a command that arrived.</summary>
    public enum Admission
    {
        /// <summary>New: run it.</summary>
        Run,

        /// <summary>Already running here: its result will come.</summary>
        AlreadyRunning,

        /// <summary>Already finished (or interrupted): answer with the stored result.</summary>
        AlreadyFinished,

        /// <summary>The journal cannot record it (a full or read-only disk): it must not run, or it could run twice.</summary>
        CannotRecord,
    }

    /// <summary>Decides whether a command runs; for a new one, records that it started (before it runs).</summary>
    public Admission Admit(string jobId)
    {
        if (!IsSafe(jobId)) return Admission.Run; // an id that is not a file name is not remembered, only run
        lock (_running)
        {
            if (_running.Contains(jobId)) return Admission.AlreadyRunning;
            if (File.Exists(ResultPath(jobId))) return Admission.AlreadyFinished;
            _running.Add(jobId);
        }
        try
        {
            WriteAtomically(StartedPath(jobId), []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            lock (_running) _running.Remove(jobId);
            LastFailure = e.Message;
            return Admission.CannotRecord;
        }
        return Admission.Run;
    }

    /// <summary>Marks a job started by an earlier process as running in this one (an agent update this version
    /// completes), so it is neither reported interrupted nor forgotten.</summary>
    public void Hold(string jobId)
    {
        if (!IsSafe(jobId)) return;
        lock (_running) _running.Add(jobId);
    }

    /// <summary>Why the journal last failed to write, for the job's error.</summary>
    public string? LastFailure { get; private set; }

    /// <summary>
    /// Stores the final response of a job before it is sent, and forgets that it runs. False when it cannot be stored
    /// (a full disk): the response still goes out now, but is not kept to be sent again.
    /// </summary>
    public bool Finish(string jobId, byte[] finalResponse)
    {
        if (!IsSafe(jobId)) return true;
        try
        {
            WriteAtomically(ResultPath(jobId), finalResponse);
            File.Delete(StartedPath(jobId));
            SyncFolder();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LastFailure = e.Message;
            return false;
        }
        finally
        {
            lock (_running) _running.Remove(jobId);
        }
    }

    /// <summary>The control plane persisted the result: forget it.</summary>
    public void Acknowledge(string jobId)
    {
        if (!IsSafe(jobId)) return;
        try
        {
            File.Delete(ResultPath(jobId));
            SyncFolder();
        }
        catch (IOException e)
        {
            LastFailure = e.Message; // sent again later; the control plane acknowledges a repeat
        }
    }

    /// <summary>Results held longer than <paramref name="age"/>, oldest first: the control plane has not acknowledged them.</summary>
    public IReadOnlyList<string> HeldResultsOlderThan(TimeSpan age)
    {
        var before = DateTime.UtcNow - age;
        return [.. new DirectoryInfo(_folder).GetFiles("*.result").Where(f => f.LastWriteTimeUtc < before)
            .OrderBy(f => f.LastWriteTimeUtc).Select(f => Path.GetFileNameWithoutExtension(f.Name))];
    }

    public byte[]? StoredResult(string jobId) => IsSafe(jobId) && File.Exists(ResultPath(jobId)) ? File.ReadAllBytes(ResultPath(jobId)) : null;

    public IReadOnlyList<string> Running
    {
        get { lock (_running) return [.. _running]; }
    }

    /// <summary>Jobs whose results wait for an acknowledgement, oldest first.</summary>
    public IReadOnlyList<string> HeldResults =>
        [.. new DirectoryInfo(_folder).GetFiles("*.result").OrderBy(f => f.LastWriteTimeUtc).Select(f => Path.GetFileNameWithoutExtension(f.Name))];

    /// <summary>
    /// Every job that had started but has no result and does not run in this process was interrupted (by the last
    /// stop). Returns their ids, for the caller to store a FAILED result for each. Called at start and again at each
    /// connect (for those a full disk kept from being recorded at start), so the jobs running now are left out: a
    /// reconnect while they run does not end them.
    /// </summary>
    public IReadOnlyList<string> InterruptedJobs()
    {
        lock (_running)
            return [.. Directory.GetFiles(_folder, "*.started").Select(f => Path.GetFileNameWithoutExtension(f))
                .Where(id => !_running.Contains(id) && !File.Exists(ResultPath(id)))];
    }

    private string StartedPath(string jobId) => Path.Combine(_folder, jobId + ".started");

    private string ResultPath(string jobId) => Path.Combine(_folder, jobId + ".result");

    private static bool IsSafe(string jobId) =>
        jobId.Length is > 0 and <= 128 && jobId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && !jobId.StartsWith('.');

    /// <summary>Written to a temporary file, flushed, renamed over the old one, and the rename flushed too (the folder), so
    /// after a power loss the file is the old one or the new one, and the change is not lost.</summary>
    private void WriteAtomically(string path, byte[] content)
    {
        var temporary = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { }
            throw;
        }
        SyncFolder();
    }

    /// <summary>Flushes the journal folder itself: a rename or delete is durable only once its folder is.</summary>
    private void SyncFolder() => DurableFolder.Sync(_folder);
}
