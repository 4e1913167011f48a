using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace InstaDeploy.Bench.Scenarios;

/// <summary>
/// Fills a control plane's SQLite file (migrated, the control plane stopped) with a history: agents, jobs spread over
/// them, their projects, statuses and the past 30 days, placements, revisions and audit entries. The rows are the ones
/// the product writes (the store's time encoding, job ids that are UUIDv7 of their creation time). For speed (10 million
/// rows in minutes, not hours) the file is written without a journal, the secondary indexes and the job counters'
/// triggers of the big tables are taken off first and put back as the migrations made them afterwards (an index built
/// once from sorted rows instead of kept up row by row), and the counters are computed once from the rows.
/// </summary>
internal static class HistorySeeder
{
    public const int Agents = 100;
    public const int Projects = 100;
    private const int Chunk = 1_000_000;

    private static readonly DateTimeOffsetToBinaryConverter Time = new();
    private static readonly string[] Statuses = ["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "TIMED_OUT", "EXPIRED"];
    private static readonly string[] Types = ["HEALTH_CHECK", "HEALTH_CHECK", "HEALTH_CHECK", "STATUS", "DEPLOY_COMPOSE", "LOGS"];

    public static string AgentId(int i) => $"hist-{i:D5}";

    public static string ProjectName(int i) => $"proj-{i:D3}";

    private static long T(DateTimeOffset at) => (long)Time.ConvertToProvider(at)!;

    /// <summary>Seeds <paramref name="jobs"/> jobs ending before <paramref name="end"/>, spread over <paramref name="span"/>.</summary>
    public static async Task<TimeSpan> SeedAsync(string databasePath, long jobs, DateTimeOffset end, TimeSpan span, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await using var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        await connection.OpenAsync(cancellationToken);
        // The seed only: no journal (a crash mid-seed leaves a file to throw away), one writer, a big page cache.
        await Exec(connection, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-400000;");
        var deferred = await DropDeferredAsync(connection, cancellationToken);
        var start = end - span;
        var random = new Random(21);

        await using (var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken))
        {
            await using var agent = Prepare(connection, tx, """
                INSERT INTO "Agents" ("Id", "Hostname", "Version", "Architecture", "Online", "FirstSeen", "LastSeen", "AnnouncedLabelsJson")
                VALUES ($id, $id, '1.0.0', 'linux-x64', 0, $at, $at, $labels)
                """, "$id", "$at", "$labels");
            for (var i = 0; i < Agents; i++)
                Run(agent, AgentId(i), T(start), $$"""{"role":"{{(i % 4 == 0 ? "db" : "web")}}","region":"{{(i % 2 == 0 ? "eu" : "us")}}"}""");
            await tx.CommitAsync(cancellationToken);
        }

        for (long done = 0; done < jobs; done += Chunk)
        {
            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using var job = Prepare(connection, tx, """
                INSERT INTO "Jobs" ("Id", "Type", "AgentId", "ProjectName", "Status", "PayloadJson", "Logs", "Error", "ResultJson",
                    "CreatedAt", "UpdatedAt", "CompletedAt", "TimeoutAt", "TimeoutSeconds", "SentAt", "LogLinesDropped", "ArrivedLate")
                VALUES ($id, $type, $agent, $project, $status, $payload, $logs, $error, $result, $created, $updated, $completed, $timeout, 600, $created, 0, 0)
                """, "$id", "$type", "$agent", "$project", "$status", "$payload", "$logs", "$error", "$result", "$created", "$updated", "$completed", "$timeout");
            var upTo = Math.Min(jobs, done + Chunk);
            for (var n = done; n < upTo; n++)
            {
                // Evenly over the span, oldest first, as they were written.
                var created = start + TimeSpan.FromTicks(span.Ticks / jobs * n);
                var type = Types[random.Next(Types.Length)];
                var status = Statuses[random.Next(Statuses.Length)];
                var project = type == "HEALTH_CHECK" ? null : ProjectName(random.Next(Projects));
                var completed = created + TimeSpan.FromMilliseconds(random.Next(5, 4000));
                Run(job, $"job-{Guid.CreateVersion7(created):N}", type, AgentId(random.Next(Agents)), project, status,
                    project is null ? "{}" : $$"""{"project_name":"{{project}}"}""",
                    status == "COMPLETED" ? "ok\n" : "", status == "FAILED" ? "exit code 1" : "",
                    type == "HEALTH_CHECK" && status == "COMPLETED" ? """{"docker":"ok","compose":"v2","disk_free_bytes":41234567890}""" : null,
                    T(created), T(completed), T(completed), T(created + TimeSpan.FromMinutes(10)));
            }
            await tx.CommitAsync(cancellationToken);
        }

        // Every project placed on 5 agents; a revision per 100 jobs, spread over the projects; an audit entry per 10 jobs.
        await using (var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken))
        {
            await using var placement = Prepare(connection, tx, """
                INSERT INTO "Deployments" ("ProjectName", "AgentId", "State", "LastJobId", "CreatedAt", "UpdatedAt", "CurrentRevision")
                VALUES ($project, $agent, 'running', $job, $at, $at, NULL)
                """, "$project", "$agent", "$job", "$at");
            for (var p = 0; p < Projects; p++)
                for (var a = 0; a < 5; a++)
                    Run(placement, ProjectName(p), AgentId((p * 5 + a) % Agents), $"job-{Guid.CreateVersion7(end):N}", T(end));
            await using var revision = Prepare(connection, tx, """
                INSERT INTO "Revisions" ("ProjectName", "Number", "AgentId", "JobId", "ComposeSha256", "ComposeYaml", "VariableNames", "CreatedBy", "CreatedAt", "FinishedAt", "Outcome")
                VALUES ($project, $number, $agent, $job, 'd2a84f4b8b650937ec8f73cd8be2c74add5a911ba64df27458ed8229da804a26', $compose, 'LOG_LEVEL', 'ci', $at, $at, 'succeeded')
                """, "$project", "$number", "$agent", "$job", "$at", "$compose");
            var numbers = new int[Projects];
            var revisions = Math.Max(Projects, jobs / 100);
            for (long r = 0; r < revisions; r++)
            {
                var p = (int)(r % Projects);
                var at = start + TimeSpan.FromTicks(span.Ticks / revisions * r);
                Run(revision, ProjectName(p), ++numbers[p], AgentId((p * 5 + (int)(r / Projects % 5)) % Agents), $"job-{Guid.CreateVersion7(at):N}", T(at), "services:\n  web:\n    image: local/busybox:1\n");
            }
            await tx.CommitAsync(cancellationToken);
        }
        for (long done = 0, entries = jobs / 10; done < entries; done += Chunk)
        {
            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using var audit = Prepare(connection, tx, """
                INSERT INTO "AuditLog" ("At", "ActorKind", "ActorId", "ActorName", "SourceAddress", "Action", "Target", "Outcome", "Status", "Detail", "Summary", "JobId")
                VALUES ($at, 'api_key', 'key_bench', 'ci', '127.0.0.1', $action, $target, 'succeeded', 202, '', NULL, NULL)
                """, "$at", "$action", "$target");
            for (var n = done; n < Math.Min(entries, done + Chunk); n++)
            {
                var at = start + TimeSpan.FromTicks(span.Ticks / entries * n);
                var p = random.Next(Projects);
                Run(audit, T(at), n % 3 == 0 ? "stop" : "deploy", $"project:{ProjectName(p)}@{AgentId(p % Agents)}");
            }
            await tx.CommitAsync(cancellationToken);
        }
        // The indexes and triggers back as the migrations made them, and the counters the triggers would have kept.
        foreach (var sql in deferred) await Exec(connection, sql);
        await Exec(connection, """
            DELETE FROM "JobCounts";
            INSERT INTO "JobCounts" ("AgentId", "Status", "Count") SELECT "AgentId", "Status", COUNT(*) FROM "Jobs" GROUP BY "AgentId", "Status";
            """);
        // No ANALYZE: a control plane's database never gets one, so the plans measured are the ones it runs.
        await Exec(connection, "PRAGMA locking_mode=NORMAL; PRAGMA journal_mode=WAL;");
        return clock.Elapsed;
    }

    /// <summary>Drops the secondary indexes and triggers of the tables seeded by the million and returns the statements
    /// that make them again, indexes first (the triggers then see the counters computed from the rows).</summary>
    private static async Task<List<string>> DropDeferredAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        var found = new List<(string Type, string Name, string Sql)>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = """
                SELECT "type", "name", "sql" FROM sqlite_master
                WHERE "tbl_name" IN ('Jobs', 'AuditLog') AND "type" IN ('index', 'trigger') AND "sql" IS NOT NULL
                """;
            await using var reader = await list.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) found.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }
        foreach (var (type, name, _) in found) await Exec(connection, $"DROP {type.ToUpperInvariant()} \"{name}\";");
        return [.. found.Where(f => f.Type == "index").Select(f => f.Sql), .. found.Where(f => f.Type == "trigger").Select(f => f.Sql)];
    }

    private static SqliteCommand Prepare(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] names)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in names) command.Parameters.Add(new SqliteParameter { ParameterName = name });
        command.Prepare();
        return command;
    }

    private static void Run(SqliteCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i] ?? DBNull.Value;
        // Synchronous: Microsoft.Data.Sqlite runs the async one synchronously anyway, with a Task per row on top.
        command.ExecuteNonQuery();
    }

    private static async Task Exec(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
