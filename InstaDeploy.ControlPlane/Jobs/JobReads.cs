using System.Data.Common;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>
/// The reads on every command, result and line of output, as plain SQL on a pooled connection: no DbContext, no EF
/// connection set-up, no LINQ translation. On SQLite, WAL lets them run beside the writer without waiting.
/// </summary>
public sealed class JobReads(Database database)
{
    private static readonly Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTimeOffset, long> StoredTime =
        new Microsoft.EntityFrameworkCore.Storage.ValueConversion.DateTimeOffsetToBinaryConverter();

    /// <summary>What never changes about a job, and its status now; null for an unknown job.</summary>
    public sealed record JobHead(string AgentId, string Status, string Type, string? ProjectName, string? TraceParent, DateTimeOffset CreatedAt)
    {
        public bool IsTerminal => JobStatuses.IsTerminal(Status);
    }

    public async Task<JobHead?> ReadHeadAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """SELECT "AgentId", "Status", "Type", "ProjectName", "TraceParent", "CreatedAt" FROM "Jobs" WHERE "Id" = @id""";
        command.Add("@id", jobId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new JobHead(reader.GetString(0), reader.GetString(1), reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
            StoredTime.ConvertFromProvider(reader.GetInt64(5)) is DateTimeOffset created ? created : default);
    }

    /// <summary>The agent's jobs waiting or running; with <paramref name="type"/>, only those of that command type
    /// (index (AgentId, Status)).</summary>
    public async Task<int> CountOpenJobsAsync(string agentId, CancellationToken cancellationToken, string? type = null)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """SELECT COUNT(*) FROM "Jobs" WHERE "AgentId" = @agent AND "Status" IN (@pending, @sent, @running)"""
            + (type is null ? "" : """ AND "Type" = @type""");
        command.Add("@agent", agentId);
        if (type is not null) command.Add("@type", type);
        command.Add("@pending", JobStatuses.Pending);
        command.Add("@sent", JobStatuses.Sent);
        command.Add("@running", JobStatuses.Running);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The job's final record: status, error, output and how many lines its head lost to the cap.</summary>
    public async Task<(string Status, string Error, string Logs, int DroppedLines)?> ReadFinalAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """SELECT "Status", "Error", "Logs", "LogLinesDropped" FROM "Jobs" WHERE "Id" = @id""";
        command.Add("@id", jobId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return (reader.GetString(0), reader.GetString(1), reader.GetString(2), Convert.ToInt32(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The number the job's next streamed line gets, and the bytes already stored (for the cap).</summary>
    public async Task<(long NextSeq, long StoredBytes)> StoredExtentAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""SELECT COALESCE(MAX("Seq" + "LineCount"), 1), COALESCE(SUM({database.ByteLength("\"Text\"")}), 0) FROM "JobOutput" WHERE "JobId" = @id""";
        command.Add("@id", jobId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The stored streamed lines numbered <paramref name="fromSeq"/> to <paramref name="toSeq"/> (those that are
    /// stored), with the number of the first one returned.</summary>
    public async Task<(long FirstSeq, List<string> Lines)> ReadStreamedAsync(string jobId, long fromSeq, long toSeq, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT "Seq", "Text" FROM "JobOutput" WHERE "JobId" = @id AND "Seq" + "LineCount" > @from AND "Seq" <= @to ORDER BY "Seq"
            """;
        command.Add("@id", jobId);
        command.Add("@from", fromSeq);
        command.Add("@to", toSeq);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var lines = new List<string>();
        long first = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var seq = reader.GetInt64(0);
            foreach (var line in JobLogs.SplitLines(reader.GetString(1)))
            {
                if (seq >= fromSeq && seq <= toSeq)
                {
                    if (lines.Count == 0) first = seq;
                    lines.Add(line);
                }
                seq++;
            }
        }
        return (first, lines);
    }

    private Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => database.OpenAsync(cancellationToken);
}
