using System.Text;
using System.Threading.Channels;

namespace InstaDeploy.ControlPlane.Jobs.Output;

/// <summary>
/// One running job's output in memory: the recent lines with their numbers, its followers, and which lines are stored.
/// A line leaves memory only once it is stored (or deliberately not, past the job-log cap), so a follower that joins
/// late finds every line either in the store or here, with no gap and no duplicate.
/// </summary>
internal sealed class LiveJobOutput(string agentId, long nextSeq, long storedBytes, int maxStoredBytes)
{
    /// <summary>Recent lines kept beyond what the store needs, so followers that join mid-job rarely read the store.</summary>
    private const int WindowLines = 2000;
    private const int WindowBytes = 256 * 1024;

    /// <summary>Each follower's queue; a follower that falls this far behind is dropped and catches up from the store.</summary>
    private const int FollowerQueue = 512;

    private readonly object _lock = new();
    private readonly List<string> _window = [];
    private readonly List<Follower> _followers = [];
    private long _windowStart = nextSeq;
    private long _nextSeq = nextSeq;
    private long _windowBytes;
    private long _storedThrough = nextSeq - 1;
    private long _queuedThrough = nextSeq - 1;
    private long _storedBytes = storedBytes;
    private bool _movedToRunning;
    private bool _completed;

    public string AgentId { get; } = agentId;

    public long LastActivity { get; private set; } = Environment.TickCount64;

    public bool Completed { get { lock (_lock) return _completed; } }

    public bool HasFollowers { get { lock (_lock) return _followers.Count > 0; } }

    /// <summary>Whether this instance's agent connection feeds it (else, on PostgreSQL, another instance holds the agent
    /// and it is fed from the store by <see cref="AppendStored"/>).</summary>
    public bool FedHere { get; private set; }

    /// <summary>The number the next line gets.</summary>
    public long NextSeq { get { lock (_lock) return _nextSeq; } }

    /// <summary>Numbers the lines, keeps them, and hands them to every follower.</summary>
    public void Append(IReadOnlyList<string> lines)
    {
        lock (_lock)
        {
            if (_completed) return;
            FedHere = true;
            LastActivity = Environment.TickCount64;
            if (lines.Count == 0) return;
            var first = _nextSeq;
            foreach (var line in lines)
            {
                _window.Add(line);
                _windowBytes += line.Length + 1;
            }
            _nextSeq += lines.Count;
            Publish(new LinesEvent(first, lines));
            Evict();
        }
    }

    /// <summary>
    /// Lines another instance received from the agent and stored, numbered <paramref name="firstSeq"/> onwards: those
    /// not here yet are handed to every follower, already stored. Overlapping reads (a notification and the poll) are
    /// harmless: lines before the next number are skipped.
    /// </summary>
    public void AppendStored(long firstSeq, IReadOnlyList<string> lines)
    {
        lock (_lock)
        {
            if (_completed || FedHere) return;
            var skip = (int)Math.Max(0, _nextSeq - firstSeq);
            if (skip >= lines.Count) return;
            if (firstSeq > _nextSeq)
            {
                // Lines past the job-log cap were never stored: the numbering jumps, and the window starts again.
                _window.Clear();
                _windowBytes = 0;
                _windowStart = _nextSeq = firstSeq;
            }
            LastActivity = Environment.TickCount64;
            var fresh = skip == 0 ? lines : [.. lines.Skip(skip)];
            var first = _nextSeq;
            foreach (var line in fresh)
            {
                _window.Add(line);
                _windowBytes += line.Length + 1;
            }
            _nextSeq += fresh.Count;
            _storedThrough = _queuedThrough = _nextSeq - 1;
            Publish(new LinesEvent(first, fresh));
            Evict();
        }
    }

    /// <summary>The lines not yet handed to the store, as one chunk within the job-log cap (lines past it are never
    /// stored), and the last line it accounts for.</summary>
    public (OutputChunk Chunk, long Through)? TakeChunk(string jobId)
    {
        lock (_lock)
        {
            var first = !_movedToRunning;
            if (_queuedThrough + 1 >= _nextSeq && !first) return null;
            _movedToRunning = true;
            var text = new StringBuilder();
            var seq = _queuedThrough + 1;
            var count = 0;
            for (var s = seq; s < _nextSeq; s++)
            {
                var line = _window[(int)(s - _windowStart)];
                var bytes = Encoding.UTF8.GetByteCount(line) + 1;
                if (_storedBytes + bytes > maxStoredBytes) break;
                _storedBytes += bytes;
                text.Append(line).Append('\n');
                count++;
            }
            // Lines past the cap are not stored, now or later: the stored output stays within INSTADEPLOY_MAX_JOB_LOG_BYTES.
            _queuedThrough = _nextSeq - 1;
            return (new OutputChunk(jobId, seq, count, text.ToString(), first), _queuedThrough);
        }
    }

    /// <summary>The chunk is committed: its lines may leave memory.</summary>
    public void Stored(long throughSeq)
    {
        lock (_lock)
        {
            if (throughSeq > _storedThrough) _storedThrough = throughSeq;
            Evict();
        }
    }

    /// <summary>A store write failed: hand the lines to the next flush again.</summary>
    public void StoreFailed(OutputChunk chunk)
    {
        lock (_lock)
        {
            if (chunk.Seq - 1 < _queuedThrough && chunk.Seq - 1 >= _storedThrough)
            {
                _queuedThrough = chunk.Seq - 1;
                _storedBytes -= Encoding.UTF8.GetByteCount(chunk.Text);
            }
            if (chunk.First) _movedToRunning = false;
        }
    }

    /// <summary>Adds a follower that has every line after <paramref name="afterSeq"/>: the ones still here now, then
    /// each new one. <see cref="Subscription.StoredUpTo"/> says which earlier ones it must read from the store.</summary>
    public Subscription Subscribe(long afterSeq, bool createdEntry)
    {
        lock (_lock)
        {
            var follower = new Follower(Channel.CreateBounded<OutputEvent>(new BoundedChannelOptions(FollowerQueue) { SingleReader = true, SingleWriter = true }));
            var from = Math.Max(afterSeq + 1, _windowStart);
            var backlog = new List<string>();
            for (var s = from; s < _nextSeq; s++) backlog.Add(_window[(int)(s - _windowStart)]);
            if (_completed) follower.Channel.Writer.TryComplete();
            else _followers.Add(follower);
            return new Subscription(this, follower, _windowStart - 1, backlog.Count == 0 ? null : new LinesEvent(from, backlog), createdEntry);
        }
    }

    public void Unsubscribe(Follower follower)
    {
        lock (_lock) _followers.Remove(follower);
    }

    /// <summary>The lines after <paramref name="afterSeq"/> that are here (for a read of a running job's output).</summary>
    public List<string> LinesAfter(long afterSeq)
    {
        lock (_lock)
        {
            var lines = new List<string>();
            for (var s = Math.Max(afterSeq + 1, _windowStart); s < _nextSeq; s++) lines.Add(_window[(int)(s - _windowStart)]);
            return lines;
        }
    }

    /// <summary>Sends followers a keep-alive when the job printed nothing since <paramref name="quietSince"/>.</summary>
    public void KeepAlive(long quietSince)
    {
        lock (_lock)
            if (!_completed && LastActivity < quietSince) Publish(KeepAliveEvent.Instance);
    }

    /// <summary>
    /// The job ended. Its final output (the agent's own record) normally goes on from what was streamed: followers get
    /// the lines they have not seen. If it does not (the agent restarted, or kept only a tail), they get it all again.
    /// </summary>
    public void Complete(JobLogs.Kept? final, string status, string error)
    {
        lock (_lock)
        {
            if (_completed) return;
            _completed = true;
            if (final is { } kept && kept.Text.Length > 0)
            {
                var lines = JobLogs.SplitLines(kept.Text);
                var firstSeq = kept.DroppedLines + 1L;
                var streamed = _nextSeq - 1;
                var lastFinal = firstSeq + lines.Count - 1;
                var agrees = streamed < firstSeq
                    || (streamed <= lastFinal && (streamed < _windowStart || _window[(int)(streamed - _windowStart)] == lines[(int)(streamed - firstSeq)]));
                if (!agrees)
                    Publish(new ResetEvent(kept.Text, lastFinal));
                else if (lastFinal > streamed)
                {
                    var from = Math.Max(streamed + 1, firstSeq);
                    Publish(new LinesEvent(from, lines.GetRange((int)(from - firstSeq), (int)(lastFinal - from + 1))));
                }
            }
            Publish(new EndEvent(status, error));
            foreach (var follower in _followers) follower.Channel.Writer.TryComplete();
            _followers.Clear();
        }
    }

    private void Publish(OutputEvent item)
    {
        for (var i = _followers.Count - 1; i >= 0; i--)
        {
            var follower = _followers[i];
            if (follower.Channel.Writer.TryWrite(item)) continue;
            // Too far behind: dropped rather than let one slow reader hold the others (or memory); it resumes from
            // the store where it left off.
            follower.Overflowed = true;
            follower.Channel.Writer.TryComplete();
            _followers.RemoveAt(i);
        }
    }

    private void Evict()
    {
        var hardLimit = Math.Max(2L * maxStoredBytes, 4 * WindowBytes);
        while (_window.Count > 0
            && ((_windowStart <= _storedThrough && (_window.Count > WindowLines || _windowBytes > WindowBytes)) || _windowBytes > hardLimit))
        {
            _windowBytes -= _window[0].Length + 1;
            _window.RemoveAt(0);
            _windowStart++;
        }
        if (_windowStart - 1 > _queuedThrough) _queuedThrough = _windowStart - 1; // dropped past the hard limit: never stored
    }

    internal sealed class Follower(Channel<OutputEvent> channel)
    {
        public Channel<OutputEvent> Channel { get; } = channel;
        public bool Overflowed { get; set; }
    }
}

/// <summary>A follower's view of a running job's output.</summary>
public sealed class Subscription : IDisposable
{
    private readonly LiveJobOutput _job;
    private readonly LiveJobOutput.Follower _follower;

    internal Subscription(LiveJobOutput job, LiveJobOutput.Follower follower, long storedUpTo, LinesEvent? backlog, bool createdEntry)
    {
        _job = job;
        _follower = follower;
        StoredUpTo = storedUpTo;
        Backlog = backlog;
        CreatedEntry = createdEntry;
    }

    /// <summary>Lines up to this number are no longer in memory: read them from the store.</summary>
    public long StoredUpTo { get; }

    /// <summary>The lines in memory when the follower joined.</summary>
    public LinesEvent? Backlog { get; }

    /// <summary>Every event after the backlog.</summary>
    public ChannelReader<OutputEvent> Events => _follower.Channel.Reader;

    /// <summary>Whether the follower fell too far behind and was dropped (it should join again from where it is).</summary>
    public bool Overflowed => _follower.Overflowed;

    /// <summary>Whether this subscription created the job's in-memory entry (the job may have ended just before).</summary>
    public bool CreatedEntry { get; }

    internal LiveJobOutput Job => _job;

    public void Dispose() => _job.Unsubscribe(_follower);
}
