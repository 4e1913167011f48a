using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace InstaDeploy.Bench.Floors;

/// <summary>A job row written (its creation when <see cref="AgentId"/> is set, else its result).</summary>
internal sealed record FloorWrite(string JobId, string? AgentId, string Status)
{
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// The floor's store: a job table in a SQLite file in WAL mode with the control plane's synchronous setting, written by
/// one writer that commits whatever is queued in one transaction (a group commit), each caller answered at the commit.
/// </summary>
internal sealed class FloorStore : IAsyncDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Channel<FloorWrite> _queue = Channel.CreateUnbounded<FloorWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    private FloorStore(SqliteConnection connection)
    {
        _connection = connection;
        _writer = Task.Run(WriteLoopAsync);
    }

    public static FloorStore Open(string path, string synchronous)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var setup = connection.CreateCommand();
        setup.CommandText = $"""
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous={(synchronous.Equals("NORMAL", StringComparison.OrdinalIgnoreCase) ? "NORMAL" : "FULL")};
            CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, agent_id TEXT, status TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS jobs_agent_status ON jobs (agent_id, status);
            """;
        setup.ExecuteNonQuery();
        return new FloorStore(connection);
    }

    public Task WriteAsync(FloorWrite write)
    {
        if (!_queue.Writer.TryWrite(write)) throw new InvalidOperationException("the floor store is closed");
        return write.Done.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<FloorWrite>();
        using var insert = _connection.CreateCommand();
        insert.CommandText = "INSERT INTO jobs (id, agent_id, status, created_at, updated_at) VALUES ($id, $agent, $status, $now, $now)";
        using var update = _connection.CreateCommand();
        update.CommandText = "UPDATE jobs SET status = $status, updated_at = $now WHERE id = $id";
        foreach (var command in new[] { insert, update })
        {
            command.Parameters.Add("$id", SqliteType.Text);
            command.Parameters.Add("$status", SqliteType.Text);
            command.Parameters.Add("$now", SqliteType.Integer);
        }
        insert.Parameters.Add("$agent", SqliteType.Text);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (_queue.Reader.TryRead(out var write)) batch.Add(write);
            try
            {
                using var transaction = _connection.BeginTransaction();
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                foreach (var write in batch)
                {
                    var command = write.AgentId is null ? update : insert;
                    command.Transaction = transaction;
                    command.Parameters["$id"].Value = write.JobId;
                    command.Parameters["$status"].Value = write.Status;
                    command.Parameters["$now"].Value = now;
                    if (write.AgentId is { } agent) command.Parameters["$agent"].Value = agent;
                    command.ExecuteNonQuery();
                }
                transaction.Commit();
                foreach (var write in batch) write.Done.TrySetResult();
            }
            catch (SqliteException e)
            {
                foreach (var write in batch) write.Done.TrySetException(e);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
        await _connection.DisposeAsync();
    }
}
