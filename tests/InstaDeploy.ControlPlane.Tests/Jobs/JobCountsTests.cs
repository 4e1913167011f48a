using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Counts;
using InstaDeploy.ControlPlane.Jobs.Retention;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Tests.Jobs;

/// <summary>
/// GET /jobs/summary answers from counters the database keeps with every job change, so they must equal what counting the
/// rows gives at every step: jobs created, sent, finished one by one and many at once, timed out, and deleted by retention.
/// A new SQLite database gives the pages retention frees back to the file system.
/// </summary>
public sealed class JobCountsTests
{
    private static readonly string Compose = Convert.ToBase64String(Encoding.UTF8.GetBytes("services:\n  web:\n    image: local/busybox:1\n"));

    /// <summary>A clock that can be moved forward while its timers run in real time.</summary>
    private sealed class ShiftedClock : TimeProvider
    {
        private long _offsetTicks;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
    }

    /// <summary>The jobs per agent and status, counted from the rows.</summary>
    private static async Task<Dictionary<(string Agent, string Status), long>> CountRowsAsync(ControlPlaneFactory controlPlane)
    {
        await using var db = await controlPlane.Services.GetRequiredService<IDbContextFactory<InstaDeployDbContext>>().CreateDbContextAsync();
        return (await db.Jobs.GroupBy(j => new { j.AgentId, j.Status }).Select(g => new { g.Key.AgentId, g.Key.Status, N = g.LongCount() }).ToListAsync())
            .ToDictionary(r => (r.AgentId, r.Status), r => r.N);
    }

    /// <summary>GET /jobs/summary equals the rows counted, overall, per agent and for one agent.</summary>
    private static async Task<JsonElement> AssertSummaryExactAsync(ControlPlaneFactory controlPlane, HttpClient api)
    {
        var summary = await api.GetJsonAsync("/jobs/summary");
        var rows = await CountRowsAsync(controlPlane);
        Assert.Equal(rows.Values.Sum(), summary.GetProperty("total").GetInt64());
        foreach (var status in new[] { "PENDING", "SENT", "RUNNING", "COMPLETED", "FAILED", "TIMED_OUT", "EXPIRED" })
            Assert.Equal(rows.Where(r => r.Key.Status == status).Sum(r => r.Value), summary.GetProperty("by_status").GetProperty(status).GetInt64());
        var agents = summary.GetProperty("agents").EnumerateArray().ToList();
        Assert.Equal(rows.Keys.Select(k => k.Agent).Distinct().Order(StringComparer.Ordinal), agents.Select(a => a.GetProperty("agent_id").GetString()));
        foreach (var agent in agents)
        {
            var id = agent.GetProperty("agent_id").GetString()!;
            foreach (var status in agent.GetProperty("by_status").EnumerateObject())
                Assert.Equal(rows.GetValueOrDefault((id, status.Name)), status.Value.GetInt64());
            var one = await api.GetJsonAsync($"/jobs/summary?agent_id={id}");
            Assert.Equal(agent.GetProperty("total").GetInt64(), one.GetProperty("total").GetInt64());
            Assert.Equal(id, one.GetProperty("agents").EnumerateArray().Single().GetProperty("agent_id").GetString());
        }
        return summary;
    }

    private static long Count(JsonElement summary, string agentId, string status) =>
        summary.GetProperty("agents").EnumerateArray().FirstOrDefault(a => a.GetProperty("agent_id").GetString() == agentId) is { ValueKind: JsonValueKind.Object } agent
            ? agent.GetProperty("by_status").GetProperty(status).GetInt64()
            : 0;

    [Fact]
    public async Task CountsStayExactThroughSubmitFinishTimeoutAndRetention()
    {
        var clock = new ShiftedClock();
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?>
        {
            ["INSTADEPLOY_JOB_RETENTION_DAYS"] = "30",
            ["INSTADEPLOY_JOB_RETENTION_KEEP"] = "1",
            ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000",
        }, time: clock);
        using var api = controlPlane.CreateApiClient();
        await using var worker = new SeedAgent((_, _, _) => ("COMPLETED", "ok\n", ""));
        await worker.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "count-ok");
        await using var silent = new SeedAgent((_, _, _) => null); // takes every command and never answers
        await silent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "count-silent");
        await api.WaitForAgentOnlineAsync("count-ok");
        await api.WaitForAgentOnlineAsync("count-silent");

        var empty = await AssertSummaryExactAsync(controlPlane, api);
        Assert.Equal(0, empty.GetProperty("total").GetInt64());

        // One job sent and finished.
        using (var health = await api.PostAsync("/agents/count-ok/health", null))
            await api.WaitForJobAsync((await health.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        Assert.Equal(1, Count(await AssertSummaryExactAsync(controlPlane, api), "count-ok", "COMPLETED"));

        // One sent and never answered: counted as sent until its timeout, then as timed out (the STATUS that a timeout asks
        // for is sent in its turn).
        using var deploy = await api.PostJsonAsync("/deploy", new { project_name = "counted", agent_id = "count-silent", compose_file_base64 = Compose, timeout_seconds = 2 });
        Assert.Equal(HttpStatusCode.Accepted, deploy.StatusCode);
        var stuck = (await deploy.ReadJsonAsync()).GetProperty("job_id").GetString()!;
        await Eventually.TrueAsync(async () => (await api.GetJsonAsync($"/jobs/{stuck}")).GetProperty("status").GetString() == "SENT", TimeSpan.FromSeconds(10), "the deploy is sent");
        Assert.Equal(1, Count(await AssertSummaryExactAsync(controlPlane, api), "count-silent", "SENT"));
        await Eventually.TrueAsync(async () => (await api.GetJsonAsync($"/jobs/{stuck}")).GetProperty("status").GetString() == "TIMED_OUT", TimeSpan.FromSeconds(30), "the deploy times out");
        // The reconciler asks the agent what runs after a deploy that ended unknown; that STATUS job is created after the
        // timeout commits, so the counts are compared once it exists (a summary read between the two would miss it).
        await Eventually.TrueAsync(async () => (await api.GetJsonAsync("/jobs?agent_id=count-silent")).GetArrayLength() >= 2, TimeSpan.FromSeconds(30), "the reconciler's STATUS is created");
        var timedOut = await AssertSummaryExactAsync(controlPlane, api);
        Assert.Equal(1, Count(timedOut, "count-silent", "TIMED_OUT"));

        // Many at once: the group-commit writer stores their results several to a transaction.
        var many = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            using var response = await api.PostAsync("/agents/count-ok/health", null);
            return (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
        }));
        foreach (var id in many) await api.WaitForJobAsync(id);
        Assert.Equal(41, Count(await AssertSummaryExactAsync(controlPlane, api), "count-ok", "COMPLETED"));

        // Retention deletes all but the newest of each agent and project: the counts go down with the rows.
        clock.Advance(TimeSpan.FromDays(40));
        var sweep = await controlPlane.Services.GetRequiredService<JobRetention>().SweepAsync(10, CancellationToken.None);
        // count-ok keeps its newest; count-silent's deploy made a revision and its STATUS is still open.
        Assert.Equal(40, sweep.JobsDeleted);
        var swept = await AssertSummaryExactAsync(controlPlane, api);
        Assert.Equal(3, swept.GetProperty("total").GetInt64());

        // On PostgreSQL the deltas are folded into the counters: the answer is the same before and after.
        if (controlPlane.OnPostgres)
        {
            Assert.True(await controlPlane.Services.GetRequiredService<JobCountCompactor>().CompactAsync(CancellationToken.None) >= 0);
            Assert.Equal(3, (await AssertSummaryExactAsync(controlPlane, api)).GetProperty("total").GetInt64());
            await using var db = await controlPlane.Services.GetRequiredService<IDbContextFactory<InstaDeployDbContext>>().CreateDbContextAsync();
            Assert.Equal(0, await db.JobCountDeltas.CountAsync());
        }
    }

    [Fact]
    public async Task ANewSqliteDatabaseGivesTheSpaceRetentionFreesBack()
    {
        var clock = new ShiftedClock();
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?>
        {
            [ControlPlaneFactory.SqliteSetting] = "",
            ["INSTADEPLOY_JOB_RETENTION_DAYS"] = "30",
            ["INSTADEPLOY_JOB_RETENTION_KEEP"] = "1",
        }, time: clock);
        using var api = controlPlane.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/jobs/summary")).StatusCode); // started: the database exists
        var path = controlPlane.Services.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.DatabasePath;
        Assert.Equal(2L, await PragmaAsync(path, "auto_vacuum")); // INCREMENTAL

        // 3,000 finished jobs with 4 KiB of output each (~12 MiB), written straight into the store.
        var output = new string('x', 4096);
        var now = clock.GetUtcNow();
        await using (var db = await controlPlane.Services.GetRequiredService<IDbContextFactory<InstaDeployDbContext>>().CreateDbContextAsync())
        {
            for (var i = 0; i < 3000; i++)
            {
                db.Jobs.Add(new JobEntity
                {
                    Id = $"job-{Guid.CreateVersion7(now.AddSeconds(i)):N}", Type = "HEALTH_CHECK", AgentId = $"vac-{i % 3}", Status = "COMPLETED",
                    PayloadJson = "{}", Logs = output, CreatedAt = now.AddSeconds(i), UpdatedAt = now.AddSeconds(i), CompletedAt = now.AddSeconds(i),
                });
            }
            await db.SaveChangesAsync();
        }
        await CheckpointAsync(path);
        var full = await PragmaAsync(path, "page_count");

        clock.Advance(TimeSpan.FromDays(40));
        var retention = controlPlane.Services.GetRequiredService<JobRetention>();
        JobRetention.Sweep sweep;
        var deleted = 0;
        do deleted += (sweep = await retention.SweepAsync(20, CancellationToken.None)).JobsDeleted;
        while (sweep.More);
        Assert.Equal(2997, deleted);
        await CheckpointAsync(path);
        var after = await PragmaAsync(path, "page_count");
        Assert.True(after < full / 4, $"the file kept {after} of its {full} pages after its jobs were deleted");
        Assert.True(new FileInfo(path).Length <= after * await PragmaAsync(path, "page_size"));
        Assert.Equal(3, (await api.GetJsonAsync("/jobs/summary")).GetProperty("total").GetInt64());
    }

    private static async Task<long> PragmaAsync(string path, string pragma)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {pragma}";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Moves the WAL's pages into the file, so its size says what the database holds.</summary>
    private static async Task CheckpointAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        await command.ExecuteNonQueryAsync();
    }
}
