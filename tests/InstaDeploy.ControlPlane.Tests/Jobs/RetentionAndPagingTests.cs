using System.Net;
using System.Text;
using System.Text.Json;
using InstaDeploy.ControlPlane.Jobs.Retention;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.ControlPlane.Tests.Jobs;

/// <summary>
/// Retention deletes what is old and keeps what history needs (the jobs behind revisions, the newest of each agent and
/// project); output can go sooner than the row; a removed job says so. Lists page with a cursor that neither skips nor
/// repeats, whatever is added meanwhile.
/// </summary>
public sealed class RetentionAndPagingTests
{
    private static readonly string Compose = Convert.ToBase64String(Encoding.UTF8.GetBytes("services:\n  web:\n    image: local/busybox:1\n"));

    private static async Task<string> HealthAsync(HttpClient api, string agentId)
    {
        using var response = await api.PostAsync($"/agents/{agentId}/health", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
        Assert.Equal("COMPLETED", (await api.WaitForJobAsync(jobId)).GetProperty("status").GetString());
        return jobId;
    }

    private static async Task<string> DeployAsync(HttpClient api, string project, string agentId)
    {
        using var response = await api.PostJsonAsync("/deploy", new { project_name = project, agent_id = agentId, compose_file_base64 = Compose });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
        Assert.Equal("COMPLETED", (await api.WaitForJobAsync(jobId)).GetProperty("status").GetString());
        return jobId;
    }

    [Fact]
    public async Task OldJobsGoExceptTheNewestAndThoseBehindRevisionsAndOutputGoesFirst()
    {
        var clock = new ShiftedClock();
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?>
        {
            ["INSTADEPLOY_JOB_RETENTION_DAYS"] = "30",
            ["INSTADEPLOY_JOB_OUTPUT_RETENTION_DAYS"] = "7",
            ["INSTADEPLOY_JOB_RETENTION_KEEP"] = "2",
            ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000",
        }, time: clock);
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => ("COMPLETED", "all good\n", ""));
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "keep-1");
        await api.WaitForAgentOnlineAsync("keep-1");

        var deploy = await DeployAsync(api, "shop", "keep-1"); // makes revision 1
        var old = new List<string>();
        for (var i = 0; i < 4; i++) old.Add(await HealthAsync(api, "keep-1"));
        clock.Advance(TimeSpan.FromDays(10));
        var recent = await HealthAsync(api, "keep-1"); // 10 days younger than the rest
        clock.Advance(TimeSpan.FromDays(25)); // the first ones are 35 days old now, the recent one 25

        var retention = controlPlane.Services.GetRequiredService<JobRetention>();
        var sweep = await retention.SweepAsync(maxBatches: 10, CancellationToken.None);

        // The agent's newest two (the recent health check and the newest old one) stay; so does the deploy, which made a
        // revision; the three oldest health checks go.
        Assert.Equal(3, sweep.JobsDeleted);
        foreach (var gone in old.Take(3))
        {
            using var response = await api.GetAsync($"/jobs/{gone}");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            var problem = await response.ReadJsonAsync();
            Assert.Equal("Job removed by retention", problem.GetProperty("title").GetString());
            Assert.Contains("INSTADEPLOY_JOB_RETENTION_DAYS", problem.GetProperty("detail").GetString());
            using var logs = await api.GetAsync($"/jobs/{gone}/logs");
            Assert.Equal(HttpStatusCode.NotFound, logs.StatusCode);
        }
        Assert.Equal("COMPLETED", (await api.GetJsonAsync($"/jobs/{deploy}")).GetProperty("status").GetString());
        Assert.Equal(deploy, (await api.GetJsonAsync("/deployments/shop/revisions")).EnumerateArray().Single().GetProperty("job_id").GetString());

        // Output older than 7 days is cleared, the rows stay.
        foreach (var kept in new[] { old[3], recent, deploy })
        {
            var job = await api.GetJsonAsync($"/jobs/{kept}");
            Assert.Equal("", job.GetProperty("logs").GetString());
            Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
        }

        // A new job keeps its output; with it the newest old one is no longer among the agent's newest two, and goes.
        var fresh = await HealthAsync(api, "keep-1");
        Assert.Equal("all good\n", (await api.GetJsonAsync($"/jobs/{fresh}")).GetProperty("logs").GetString());
        Assert.Equal(new JobRetention.Sweep(1, 0, false), await retention.SweepAsync(maxBatches: 10, CancellationToken.None));
        using (var gone = await api.GetAsync($"/jobs/{old[3]}")) Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync($"/jobs/{recent}")).StatusCode);
        Assert.Equal(default, await retention.SweepAsync(maxBatches: 10, CancellationToken.None));

        // An unknown id that is not old says only that it is unknown.
        using var unknown = await api.GetAsync($"/jobs/job-{Guid.CreateVersion7(clock.GetUtcNow()):N}");
        Assert.Equal("Unknown job", (await unknown.ReadJsonAsync()).GetProperty("title").GetString());
    }

    [Fact]
    public async Task ABacklogGoesOverSeveralSweepsExceptWhatTheRulesKeep()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?>
        {
            ["INSTADEPLOY_JOB_RETENTION_DAYS"] = "30",
            ["INSTADEPLOY_JOB_OUTPUT_RETENTION_DAYS"] = "0",
            ["INSTADEPLOY_JOB_RETENTION_KEEP"] = "2",
        });
        using var api = controlPlane.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/jobs/summary")).StatusCode); // started: the database exists

        // 1,300 finished health checks of 40 days ago on one agent (more than two batches), written straight into the store;
        // the agent's two newest jobs are of today, so its newest-two rule keeps none of the old ones.
        var old = DateTimeOffset.UtcNow - TimeSpan.FromDays(40);
        var jobs = Enumerable.Range(0, 1300).Select(i => Job("busy", old.AddSeconds(i), "COMPLETED")).ToList();
        var shop = Enumerable.Range(0, 3).Select(i => Job("busy", old.AddSeconds(2000 + i), "COMPLETED", "shop")).ToList(); // the project's newest two stay
        var quiet = Enumerable.Range(0, 2).Select(i => Job("quiet", old.AddSeconds(i), "COMPLETED")).ToList(); // an agent's only two stay
        var open = Job("busy", old.AddSeconds(3000), "RUNNING");
        var (previous, rolledOut, rolledBack) = (jobs[10], jobs[600], jobs[1200]);
        var today = new[] { Job("busy", DateTimeOffset.UtcNow, "COMPLETED"), Job("busy", DateTimeOffset.UtcNow.AddSeconds(1), "COMPLETED", "web") };
        await using (var db = await controlPlane.Services.GetRequiredService<IDbContextFactory<InstaDeploy.ControlPlane.Data.InstaDeployDbContext>>().CreateDbContextAsync())
        {
            db.Jobs.AddRange([.. jobs, .. shop, .. quiet, open, .. today]);
            db.JobOutput.AddRange(new InstaDeploy.ControlPlane.Data.JobOutputChunkEntity { JobId = jobs[0].Id, Seq = 1, LineCount = 1, Text = "gone\n" },
                new InstaDeploy.ControlPlane.Data.JobOutputChunkEntity { JobId = previous.Id, Seq = 1, LineCount = 1, Text = "kept\n" });
            // A placement whose previous job is an old one, and a rollout whose target's job and rollback job are.
            db.Deployments.Add(new InstaDeploy.ControlPlane.Data.DeploymentEntity
            {
                ProjectName = "web", AgentId = "busy", State = "running", LastJobId = today[1].Id, PreviousJobId = previous.Id,
                CreatedAt = old, UpdatedAt = DateTimeOffset.UtcNow,
            });
            db.Rollouts.Add(new InstaDeploy.ControlPlane.Rollouts.RolloutEntity
            {
                Id = "rollout-keep", ProjectName = "web", State = "failed", OnFailure = "rollback", Offline = "skip", CreatedBy = "test",
                CreatedAt = old, UpdatedAt = old,
            });
            db.RolloutTargets.Add(new InstaDeploy.ControlPlane.Rollouts.RolloutTargetEntity
            {
                RolloutId = "rollout-keep", Ordinal = 0, AgentId = "busy", State = "rolled_back", JobId = rolledOut.Id, RollbackJobId = rolledBack.Id,
            });
            await db.SaveChangesAsync();
        }

        // One batch a sweep: the pass goes on from where the last sweep stopped, and says there is more until it is done.
        var retention = controlPlane.Services.GetRequiredService<JobRetention>();
        var deleted = 0;
        var sweeps = 0;
        JobRetention.Sweep sweep;
        do
        {
            sweep = await retention.SweepAsync(maxBatches: 1, CancellationToken.None);
            deleted += sweep.JobsDeleted;
            Assert.True(++sweeps < 40, "the backlog is still not gone after 40 sweeps of one batch");
        }
        while (sweep.More);
        Assert.True(sweeps >= 2, $"1,300 jobs went in {sweeps} sweep(s) of one batch of at most {JobRetention.BatchSize * 8}");
        Assert.Equal(1300 - 3 + 1, deleted); // all old health checks but the three named ones, and the shop's oldest

        foreach (var kept in new[] { previous, rolledOut, rolledBack, shop[1], shop[2], quiet[0], quiet[1], open, today[0], today[1] })
            Assert.Equal(HttpStatusCode.OK, (await api.GetAsync($"/jobs/{kept.Id}")).StatusCode);
        foreach (var gone in new[] { jobs[0], jobs[599], jobs[1299], shop[0] })
            Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/jobs/{gone.Id}")).StatusCode);
        await using (var db = await controlPlane.Services.GetRequiredService<IDbContextFactory<InstaDeploy.ControlPlane.Data.InstaDeployDbContext>>().CreateDbContextAsync())
            Assert.Equal([previous.Id], await db.JobOutput.Select(c => c.JobId).ToListAsync()); // output goes with its job only
        Assert.Equal(new JobRetention.Sweep(0, 0, false), await retention.SweepAsync(maxBatches: 10, CancellationToken.None));
        Assert.Equal(10, (await api.GetJsonAsync("/jobs/summary")).GetProperty("total").GetInt64());
    }

    private static InstaDeploy.ControlPlane.Data.JobEntity Job(string agentId, DateTimeOffset at, string status, string? project = null) => new()
    {
        Id = $"job-{Guid.CreateVersion7(at):N}", Type = project is null ? "HEALTH_CHECK" : "DEPLOY_COMPOSE", AgentId = agentId, ProjectName = project,
        Status = status, PayloadJson = "{}", CreatedAt = at, UpdatedAt = at, CompletedAt = status == "RUNNING" ? null : at.AddSeconds(1),
        TimeoutAt = at.AddMinutes(10), TimeoutSeconds = 600,
    };

    [Fact]
    public async Task RetentionOffKeepsEverything()
    {
        var clock = new ShiftedClock();
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?>
        {
            ["INSTADEPLOY_JOB_RETENTION_DAYS"] = "0",
            ["INSTADEPLOY_JOB_OUTPUT_RETENTION_DAYS"] = "0",
        }, time: clock);
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => ("COMPLETED", "ok\n", ""));
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "keep-2");
        await api.WaitForAgentOnlineAsync("keep-2");
        var job = await HealthAsync(api, "keep-2");
        clock.Advance(TimeSpan.FromDays(3650));
        Assert.Equal(default, await controlPlane.Services.GetRequiredService<JobRetention>().SweepAsync(10, CancellationToken.None));
        Assert.Equal("ok\n", (await api.GetJsonAsync($"/jobs/{job}")).GetProperty("logs").GetString());
    }

    /// <summary>
    /// The system clock moved forward by <see cref="Advance"/>, its timers left on real time: a fake clock's timers
    /// would fire once per period across weeks (millions of callbacks), while what is tested here is only "weeks later".
    /// </summary>
    private sealed class ShiftedClock : TimeProvider
    {
        private long _offsetTicks;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
    }

    [Fact]
    public async Task ACursorWalksTheWholeListOnceWhileNewJobsArrive()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000" });
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => ("COMPLETED", "", ""));
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "page-1");
        await api.WaitForAgentOnlineAsync("page-1");
        var created = new List<string>();
        for (var i = 0; i < 7; i++) created.Add(await HealthAsync(api, "page-1"));

        var seen = new List<string>();
        var path = "/jobs?agent_id=page-1&limit=3";
        var pages = 0;
        while (path is not null)
        {
            using var response = await api.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            seen.AddRange((await response.ReadJsonAsync()).EnumerateArray().Select(j => j.GetProperty("job_id").GetString()!));
            path = response.Headers.TryGetValues("Link", out var link) ? link.Single().Split('>')[0].TrimStart('<') : null;
            if (path is not null)
            {
                Assert.Contains("agent_id=page-1", path);
                Assert.Contains(response.Headers.GetValues("X-Next-Cursor").Single(), Uri.UnescapeDataString(path));
            }
            if (pages++ == 0) await HealthAsync(api, "page-1"); // newer than the cursor: not on the pages that follow
        }
        Assert.Equal(Enumerable.Reverse(created), seen);
        Assert.Equal(3, pages); // 3 + 3 + 1

        using var bad = await api.GetAsync("/jobs?cursor=not-a-cursor");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("X-Next-Cursor", (await bad.ReadJsonAsync()).GetProperty("errors").GetProperty("cursor")[0].GetString());
    }
}
