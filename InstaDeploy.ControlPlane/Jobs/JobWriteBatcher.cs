using System.Data.Common;
using System.Threading.Channels;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>
/// Group commit for the two writes every job makes: its creation and its result (for jobs that change no other row).
/// Callers queue their write and wait; one writer takes every write queued meanwhile, runs them in one transaction
/// (each in its own savepoint, so one failing write fails only its caller), commits once, and only then completes each
/// caller. So a caller still proceeds (sends the command, sends the ACK) only after its own write is durable, as before
/// (docs/RELIABILITY.md), but many callers share one commit and one flush. The writer holds the
/// <see cref="DatabaseWriteGate"/> for the batch, so it never races the other writers, and uses one long-lived
/// connection with plain SQL: no DbContext, connection open or LINQ translation per write.
/// <para>On SQLite the writes of jobs a hook tracks (a deploy's job with its revision, placement and rollout target) join
/// the same batches as units of EF work (<see cref="RunAsync{T}"/>), on a context bound to the batch's connection and
/// transaction: a rollout's batch of deploys, or the results of its targets arriving together, share one commit instead
/// of queueing for the gate one transaction each. A batch takes at most <see cref="MaxUnits"/> of them, so no caller
/// waits behind much more than its own work.</para>
/// </summary>
public sealed class JobWriteBatcher : IAsyncDisposable, IDisposable
{
    private const int MaxBatch = 256;

    /// <summary>Units of EF work in one batch (about 2 ms each): what a caller may wait for beyond its own.</summary>
    private const int MaxUnits = 8;
    private static readonly ValueConverter<DateTimeOffset, long> Time = new DateTimeOffsetToBinaryConverter();

    private readonly Channel<Write> _queue = Channel.CreateUnbounded<Write>(new UnboundedChannelOptions { SingleReader = true });
    private readonly DatabaseWriteGate _gate;
    private readonly Database _database;
    private readonly IOptions<ControlPlaneOptions> _options;
    private readonly ILogger<JobWriteBatcher> _logger;
    private readonly Task _writer;
    private DbConnection? _connection;
    private Microsoft.EntityFrameworkCore.DbContextOptions<InstaDeployDbContext>? _unitOptions;

    public JobWriteBatcher(DatabaseWriteGate gate, Database database, IOptions<ControlPlaneOptions> options, ILogger<JobWriteBatcher> logger)
    {
        _gate = gate;
        _database = database;
        _options = options;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Inserts the job; completes once the insert is committed.</summary>
    public Task InsertAsync(JobEntity job) => EnqueueAsync(new InsertJob(job));

    /// <summary>
    /// Ends the job if it is open (and, with <paramref name="agentId"/>, that agent's); completes once committed, with
    /// whether it changed the job. Without <paramref name="logs"/> (a timeout), the output streamed so far becomes the
    /// job's logs; either way its streamed chunks go.
    /// </summary>
    /// <param name="jobId">The job.</param>
    /// <param name="agentId">The agent that answered, or null when the control plane ends it.</param>
    /// <param name="status">Its final status.</param>
    /// <param name="logs">Its final output, within the cap.</param>
    /// <param name="error">Why it failed.</param>
    /// <param name="resultJson">The agent's structured result.</param>
    /// <param name="now">When it ended.</param>
    /// <param name="late">A result of the job's own agent after its deadline: it replaces the TIMED_OUT.</param>
    public async Task<bool> FinishAsync(string jobId, string? agentId, string status, JobLogs.Kept? logs, string error, string? resultJson, DateTimeOffset now, bool late = false) =>
        await EnqueueAsync(new FinishJob(jobId, agentId, status, logs, error, resultJson, now, late)) == 1;

    /// <summary>Appends streamed output (of open jobs only) and moves those jobs to RUNNING; completes once committed.</summary>
    public Task AppendOutputAsync(IReadOnlyList<OutputChunk> chunks, DateTimeOffset now) => EnqueueAsync(new AppendOutput(chunks, now));

    /// <summary>
    /// Runs <paramref name="work"/> in the next batch, in a savepoint of its own, on a new context whose connection and
    /// transaction are the batch's (SQLite only); completes with its result once the batch is committed, or with its
    /// exception (nothing of it stored). The work must only use the database through the context it is given.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<InstaDeployDbContext, Task<T>> work)
    {
        if (_database.IsPostgres) throw new InvalidOperationException("Units of work are batched on SQLite only; on PostgreSQL writers run side by side.");
        var unit = new Unit<T>(work);
        await EnqueueAsync(unit);
        return unit.Result!;
    }

    private Task<int> EnqueueAsync(Write write)
    {
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(write), this);
        return write.Done.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Write>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            // Writes that queue while this one waits for the gate join its batch.
            using (await _gate.EnterAsync(CancellationToken.None))
            {
                var units = 0;
                while (batch.Count < MaxBatch && units < MaxUnits && _queue.Reader.TryRead(out var write))
                {
                    batch.Add(write);
                    if (write is UnitOfWork) units++;
                }
                await CommitAsync(batch);
            }
            foreach (var write in batch) write.Complete();
            batch.Clear();
        }
        _connection?.Dispose();
    }

    private async Task CommitAsync(List<Write> batch)
    {
        try
        {
            _connection ??= Open();
            using var transaction = _connection.BeginTransaction();
            foreach (var write in batch)
            {
                transaction.Save("w");
                try
                {
                    write.Rows = write is UnitOfWork unit
                        ? await unit.ExecuteAsync(UnitContext(_connection, transaction))
                        : write.Execute(_connection, transaction, _database);
                    transaction.Release("w");
                }
                catch (Exception e) when (e is DbException || write is UnitOfWork)
                {
                    transaction.Rollback("w");
                    transaction.Release("w");
                    write.Error = e;
                }
            }
            transaction.Commit();
        }
        catch (Exception e)
        {
            // Nothing of the batch is committed: every caller fails, and the next batch starts on a fresh connection.
            _logger.WriteBatchFailed(e, batch.Count);
            foreach (var write in batch) write.Error ??= e;
            _connection?.Dispose();
            _connection = null;
            _unitOptions = null;
        }
    }

    /// <summary>A context on the batch's connection, in its transaction; the savepoint around each unit stands for the one
    /// EF would take per SaveChanges.</summary>
    private InstaDeployDbContext UnitContext(DbConnection connection, DbTransaction transaction)
    {
        _unitOptions ??= Microsoft.EntityFrameworkCore.SqliteDbContextOptionsBuilderExtensions
            .UseSqlite(new Microsoft.EntityFrameworkCore.DbContextOptionsBuilder<InstaDeployDbContext>(), connection).Options;
        var db = new InstaDeployDbContext(_unitOptions);
        db.Database.AutoSavepointsEnabled = false;
        Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.UseTransaction(db.Database, transaction);
        return db;
    }

    private DbConnection Open() =>
        _database.OpenDedicated(synchronousNormal: _options.Value.DatabaseSynchronous.Equals("NORMAL", StringComparison.OrdinalIgnoreCase));

    /// <summary>Stops taking writes; waits for the queued ones to be committed.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _writer.GetAwaiter().GetResult();
    }

    private abstract class Write
    {
        public TaskCompletionSource<int> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Rows { get; set; }
        public Exception? Error { get; set; }

        public abstract int Execute(DbConnection connection, DbTransaction transaction, Database database);

        public void Complete()
        {
            if (Error is null) Done.SetResult(Rows);
            else Done.SetException(Error);
        }

        protected static DbCommand Command(DbConnection connection, DbTransaction transaction, string sql) => connection.Sql(sql, transaction);

        protected static object Value(object? value) => value ?? DBNull.Value;

        protected static object? TimeValue(DateTimeOffset? value) => value is { } v ? Time.ConvertToProvider(v)! : null;
    }

    private abstract class UnitOfWork : Write
    {
        public sealed override int Execute(DbConnection connection, DbTransaction transaction, Database database) =>
            throw new InvalidOperationException("A unit of work runs through ExecuteAsync.");

        /// <summary>Runs the work on <paramref name="db"/> (disposed after).</summary>
        public abstract Task<int> ExecuteAsync(InstaDeployDbContext db);
    }

    private sealed class Unit<T>(Func<InstaDeployDbContext, Task<T>> work) : UnitOfWork
    {
        public T? Result { get; private set; }

        public override async Task<int> ExecuteAsync(InstaDeployDbContext db)
        {
            await using (db) Result = await work(db);
            return 1;
        }
    }

    private sealed class InsertJob(JobEntity job) : Write
    {
        public override int Execute(DbConnection connection, DbTransaction transaction, Database database)
        {
            using var command = Command(connection, transaction, """
                INSERT INTO "Jobs" ("Id", "Type", "AgentId", "ProjectName", "Status", "PayloadJson", "Logs", "Error", "ResultJson",
                    "CreatedAt", "UpdatedAt", "CompletedAt", "TimeoutAt", "TimeoutSeconds", "SentAt", "ExpiresAt", "TraceParent",
                    "SecretsProtected", "LogLinesDropped", "ArrivedLate")
                VALUES (@id, @type, @agent, @project, @status, @payload, @logs, @error, @result,
                    @created, @updated, @completed, @timeout, @timeoutSeconds, @sent, @expires, @trace, @secrets, 0, FALSE)
                """ + (NotifiesWaiting(job, database) ? "; SELECT pg_notify(@channel, @waiting)" : ""));
            if (NotifiesWaiting(job, database))
            {
                // In the insert's own statement and transaction: PostgreSQL delivers it at the commit, with no round trip
                // of its own, and never for a job that was not committed.
                command.Add("@channel", Cluster.ClusterSignals.JobsChannel);
                command.Add("@waiting", Cluster.ClusterSignals.JobWaitingPayload(job));
            }
            command.Add("@id", job.Id);
            command.Add("@type", job.Type);
            command.Add("@agent", job.AgentId);
            command.Add("@project", Value(job.ProjectName));
            command.Add("@status", job.Status);
            command.Add("@payload", job.PayloadJson);
            command.Add("@logs", job.Logs);
            command.Add("@error", job.Error);
            command.Add("@result", Value(job.ResultJson));
            command.Add("@created", TimeValue(job.CreatedAt), System.Data.DbType.Int64);
            command.Add("@updated", TimeValue(job.UpdatedAt), System.Data.DbType.Int64);
            command.Add("@completed", TimeValue(job.CompletedAt), System.Data.DbType.Int64);
            command.Add("@timeout", TimeValue(job.TimeoutAt), System.Data.DbType.Int64);
            command.Add("@timeoutSeconds", job.TimeoutSeconds);
            command.Add("@sent", TimeValue(job.SentAt), System.Data.DbType.Int64);
            command.Add("@expires", TimeValue(job.ExpiresAt), System.Data.DbType.Int64);
            command.Add("@trace", Value(job.TraceParent));
            command.Add("@secrets", Value(job.SecretsProtected));
            return command.ExecuteNonQuery();
        }
    }

    /// <summary>A job stored waiting on PostgreSQL: the instance holding its agent may be another one, which is woken.</summary>
    private static bool NotifiesWaiting(JobEntity job, Database database) => database.IsPostgres && job.Status == JobStatuses.Pending;

    /// <summary>The same conditional update as <c>JobStore</c>'s: only an open job, only by its own agent.</summary>
    private sealed class FinishJob(string jobId, string? agentId, string status, JobLogs.Kept? logs, string error, string? resultJson, DateTimeOffset now, bool late) : Write
    {
        public override int Execute(DbConnection connection, DbTransaction transaction, Database database)
        {
            using var command = Command(connection, transaction, $$"""
                UPDATE "Jobs" SET "Status" = @status, "Error" = @error, "ResultJson" = @result, "UpdatedAt" = @now, "CompletedAt" = @now,
                    "Logs" = COALESCE(@logs, (SELECT {{database.ConcatText("\"Text\"", "\"Seq\"")}} FROM "JobOutput" WHERE "JobId" = @id), "Logs"),
                    "LogLinesDropped" = @dropped, "ArrivedLate" = @late
                WHERE "Id" = @id AND (@agent IS NULL OR "AgentId" = @agent)
                    AND ("Status" IN (@pending, @sent, @running) OR (@late AND @agent IS NOT NULL AND "Status" = @timedOut))
                """);
            command.Add("@status", status);
            command.Add("@error", error);
            command.Add("@result", Value(resultJson));
            command.Add("@now", TimeValue(now), System.Data.DbType.Int64);
            command.Add("@logs", logs is { } kept ? kept.Text : DBNull.Value);
            command.Add("@dropped", logs?.DroppedLines ?? 0);
            command.Add("@id", jobId);
            command.Add("@agent", Value(agentId));
            command.Add("@pending", Contracts.JobStatuses.Pending);
            command.Add("@sent", Contracts.JobStatuses.Sent);
            command.Add("@running", Contracts.JobStatuses.Running);
            command.Add("@late", late);
            command.Add("@timedOut", Contracts.JobStatuses.TimedOut);
            var updated = command.ExecuteNonQuery();
            if (updated == 1)
            {
                using var delete = Command(connection, transaction, """DELETE FROM "JobOutput" WHERE "JobId" = @id""");
                delete.Add("@id", jobId);
                delete.ExecuteNonQuery();
            }
            return updated;
        }
    }

    /// <summary>Streamed output: each chunk stored only while its job is open; the first one moves the job to RUNNING.</summary>
    private sealed class AppendOutput(IReadOnlyList<OutputChunk> chunks, DateTimeOffset now) : Write
    {
        public override int Execute(DbConnection connection, DbTransaction transaction, Database database)
        {
            using var insert = Command(connection, transaction, """
                INSERT INTO "JobOutput" ("JobId", "Seq", "LineCount", "Text")
                SELECT @id, @seq, @count, @text WHERE EXISTS (SELECT 1 FROM "Jobs" WHERE "Id" = @id AND "Status" IN (@pending, @sent, @running))
                ON CONFLICT DO NOTHING
                """);
            var id = insert.Add("@id", "");
            var seq = insert.Add("@seq", 0L);
            var count = insert.Add("@count", 0);
            var text = insert.Add("@text", "");
            insert.Add("@pending", Contracts.JobStatuses.Pending);
            insert.Add("@sent", Contracts.JobStatuses.Sent);
            insert.Add("@running", Contracts.JobStatuses.Running);
            using var running = Command(connection, transaction, """
                UPDATE "Jobs" SET "Status" = @running, "UpdatedAt" = @now WHERE "Id" = @id AND "Status" IN (@pending, @sent)
                """);
            var runningId = running.Add("@id", "");
            running.Add("@now", TimeValue(now), System.Data.DbType.Int64);
            running.Add("@pending", Contracts.JobStatuses.Pending);
            running.Add("@sent", Contracts.JobStatuses.Sent);
            running.Add("@running", Contracts.JobStatuses.Running);
            var rows = 0;
            foreach (var chunk in chunks)
            {
                if (chunk.LineCount > 0)
                {
                    (id.Value, seq.Value, count.Value, text.Value) = (chunk.JobId, chunk.Seq, chunk.LineCount, chunk.Text);
                    rows += insert.ExecuteNonQuery();
                }
                if (chunk.First)
                {
                    runningId.Value = chunk.JobId;
                    running.ExecuteNonQuery();
                }
            }
            return rows;
        }
    }
}

/// <summary>Lines a job streamed, to be appended to its stored output.</summary>
/// <param name="JobId">The job.</param>
/// <param name="Seq">The number of the first line.</param>
/// <param name="LineCount">How many lines <paramref name="Text"/> holds (0: only the move to RUNNING).</param>
/// <param name="Text">The lines, each ending in a newline.</param>
/// <param name="First">The job's first output since it was sent: it moves to RUNNING.</param>
public sealed record OutputChunk(string JobId, long Seq, int LineCount, string Text, bool First);
