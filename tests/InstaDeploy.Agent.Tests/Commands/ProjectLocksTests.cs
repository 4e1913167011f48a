using InstaDeploy.Agent.Commands;

namespace InstaDeploy.Agent.Tests.Commands;

public sealed class ProjectLocksTests
{
    [Fact]
    public async Task JobsForTheSameProjectRunOneAfterAnother()
    {
        var locks = new ProjectLocks();
        var first = await locks.AcquireAsync("app", CancellationToken.None);
        var second = locks.AcquireAsync("app", CancellationToken.None);
        await Task.Delay(100);
        Assert.False(second.IsCompleted, "the second job for the project waits for the first");

        first.Dispose();
        (await second.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
    }

    [Fact]
    public async Task JobsForDifferentProjectsRunInParallel()
    {
        var locks = new ProjectLocks();
        using var a = await locks.AcquireAsync("a", CancellationToken.None);
        using var b = await locks.AcquireAsync("b", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(2, locks.Count);
    }

    [Fact]
    public async Task WaitersRunInArrivalOrderAndLocksAreDroppedWhenUnused()
    {
        var locks = new ProjectLocks();
        var order = new List<int>();
        var first = await locks.AcquireAsync("app", CancellationToken.None);
        // Each AcquireAsync call takes its place in the queue when it is made, as the agent's receive loop makes them.
        var pending = Enumerable.Range(1, 5).Select(i => (Index: i, Task: locks.AcquireAsync("app", CancellationToken.None))).ToList();
        var waiters = pending.Select(async p =>
        {
            using (await p.Task)
            {
                lock (order) order.Add(p.Index);
                await Task.Delay(5);
            }
        }).ToList();
        Assert.All(pending, p => Assert.False(p.Task.IsCompleted));
        first.Dispose();
        await Task.WhenAll(waiters).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([1, 2, 3, 4, 5], order);
        Assert.Equal(0, locks.Count);
    }

    [Fact]
    public async Task ACancelledWaiterDoesNotKeepTheLock()
    {
        var locks = new ProjectLocks();
        var holder = await locks.AcquireAsync("app", CancellationToken.None);
        using var cancel = new CancellationTokenSource(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => locks.AcquireAsync("app", cancel.Token));
        holder.Dispose();
        Assert.Equal(0, locks.Count);
        (await locks.AcquireAsync("app", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
    }
}
