using System.Net;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.ControlPlane.Tests.Jobs;

/// <summary>Group commit (<see cref="JobWriteBatcher"/>): many jobs at once are each stored, sent once and finished once;
/// a write or unit of work that fails in a batch fails alone and leaves nothing behind.</summary>
public sealed class JobWriteBatcherTests
{
    [Fact]
    public async Task ManyCommandsAtOnceAreEachStoredSentOnceAndFinished()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000" });
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => ("COMPLETED", "ok", ""));
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "vps-1");
        await api.WaitForAgentOnlineAsync("vps-1");

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => api.PostAsync("/agents/vps-1/health", null)));
        var jobIds = new List<string>();
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            jobIds.Add((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
            response.Dispose();
        }
        foreach (var jobId in jobIds)
        {
            var job = await api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(30));
            Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
            Assert.Equal("ok", job.GetProperty("logs").GetString());
        }
        lock (agent.ReceivedCommands)
            Assert.Equal(jobIds.Order(), agent.ReceivedCommands.Select(c => c.GetProperty("id").GetString()!).Order());
    }

    [Fact]
    public async Task AWriteThatFailsFailsOnlyItsOwnCaller()
    {
        await using var controlPlane = new ControlPlaneFactory();
        _ = controlPlane.BaseAddress; // starts the host (and migrates the database)
        var batcher = controlPlane.Services.GetRequiredService<JobWriteBatcher>();
        var now = DateTimeOffset.UtcNow;
        await batcher.InsertAsync(Job("job-first", now));

        // The same id again fails (primary key) at the same time as writes that must not be taken down with it.
        var duplicate = batcher.InsertAsync(Job("job-first", now));
        var other = batcher.InsertAsync(Job("job-second", now));
        var finish = batcher.FinishAsync("job-first", "vps-1", "COMPLETED", null, "", null, now);
        Assert.True(InstaDeploy.ControlPlane.Data.Database.IsDuplicateKey(await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => duplicate)));
        await other;
        Assert.True(await finish);
        // A finished job is not finished again, and another agent cannot finish a job.
        Assert.False(await batcher.FinishAsync("job-first", "vps-1", "FAILED", null, "again", null, now));
        Assert.False(await batcher.FinishAsync("job-second", "vps-2", "COMPLETED", null, "", null, now));

        using var api = controlPlane.CreateApiClient();
        var first = await api.GetJsonAsync("/jobs/job-first");
        Assert.Equal("COMPLETED", first.GetProperty("status").GetString());
        Assert.Equal("PENDING", (await api.GetJsonAsync("/jobs/job-second")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AUnitOfWorkThatFailsLeavesNothingAndTakesNoOtherWriteOfItsBatchWithIt()
    {
        await using var controlPlane = new ControlPlaneFactory();
        _ = controlPlane.BaseAddress;
        var batcher = controlPlane.Services.GetRequiredService<JobWriteBatcher>();
        var now = DateTimeOffset.UtcNow;
        if (controlPlane.OnPostgres)
        {
            // PostgreSQL takes writers side by side: tracked writes keep their own transactions there.
            await Assert.ThrowsAsync<InvalidOperationException>(() => batcher.RunAsync(_ => Task.FromResult(1)));
            return;
        }

        // With the write gate held, everything queued meanwhile goes into the writer's next batch together.
        Task<string> stored, refused, duplicate;
        Task plain;
        using (await controlPlane.Services.GetRequiredService<DatabaseWriteGate>().EnterAsync(CancellationToken.None))
        {
            stored = batcher.RunAsync(async db =>
            {
                db.Jobs.Add(Job("job-unit-stored", now));
                await db.SaveChangesAsync();
                return "stored";
            });
            refused = batcher.RunAsync<string>(async db =>
            {
                // Written, then the work gives up (as a hook refusing does): none of it may stay.
                db.Jobs.Add(Job("job-unit-refused", now));
                await db.SaveChangesAsync();
                await db.Jobs.Where(j => j.Id == "job-unit-stored").ExecuteDeleteAsync();
                throw new InvalidOperationException("the hook refused");
            });
            duplicate = batcher.RunAsync(async db =>
            {
                db.Jobs.Add(Job("job-unit-stored", now)); // the first unit's id: a primary-key violation
                await db.SaveChangesAsync();
                return "duplicate";
            });
            plain = batcher.InsertAsync(Job("job-plain", now));
            await Task.Delay(100);
            Assert.False(stored.IsCompleted); // nothing is completed before the batch commits
        }
        Assert.Equal("stored", await stored);
        Assert.Equal("the hook refused", (await Assert.ThrowsAsync<InvalidOperationException>(() => refused)).Message);
        await Assert.ThrowsAsync<DbUpdateException>(() => duplicate);
        await plain;

        await using var read = await controlPlane.Services.GetRequiredService<IDbContextFactory<InstaDeployDbContext>>().CreateDbContextAsync();
        Assert.Equal(["job-plain", "job-unit-stored"], await read.Jobs.Select(j => j.Id).OrderBy(id => id).ToListAsync());
    }

    [Fact]
    public async Task AWriteAloneInItsBatchThatFailsLeavesNothingAndTheNextBatchCommits()
    {
        await using var controlPlane = new ControlPlaneFactory();
        _ = controlPlane.BaseAddress;
        var batcher = controlPlane.Services.GetRequiredService<JobWriteBatcher>();
        var now = DateTimeOffset.UtcNow;
        // One write at a time, each awaited: each is alone in its batch.
        await batcher.InsertAsync(Job("job-alone-1", now));
        var duplicate = await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => batcher.InsertAsync(Job("job-alone-1", now)));
        Assert.True(InstaDeploy.ControlPlane.Data.Database.IsDuplicateKey(duplicate));
        if (!controlPlane.OnPostgres)
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => batcher.RunAsync<int>(async db =>
            {
                db.Jobs.Add(Job("job-alone-refused", now));
                await db.SaveChangesAsync();
                throw new InvalidOperationException("the hook refused");
            }));
            Assert.Equal("the hook refused", refused.Message);
        }
        // The failed batches were rolled back, not left open: the next write commits, and ends a job of the first.
        await batcher.InsertAsync(Job("job-alone-2", now));
        Assert.True(await batcher.FinishAsync("job-alone-1", "vps-1", "COMPLETED", null, "", null, now));

        await using var read = await controlPlane.Services.GetRequiredService<IDbContextFactory<InstaDeployDbContext>>().CreateDbContextAsync();
        Assert.Equal(["job-alone-1", "job-alone-2"], await read.Jobs.Select(j => j.Id).OrderBy(id => id).ToListAsync());
        Assert.Equal("COMPLETED", await read.Jobs.Where(j => j.Id == "job-alone-1").Select(j => j.Status).SingleAsync());
    }

    /// <summary>A waiting health check of vps-1, as the batcher stores one.</summary>
    private static JobEntity Job(string id, DateTimeOffset now) => new()
    {
        Id = id, Type = "HEALTH_CHECK", AgentId = "vps-1", Status = "PENDING", PayloadJson = "{}",
        CreatedAt = now, UpdatedAt = now, TimeoutAt = now.AddMinutes(5), TimeoutSeconds = 60, ExpiresAt = now.AddMinutes(5),
    };
}
