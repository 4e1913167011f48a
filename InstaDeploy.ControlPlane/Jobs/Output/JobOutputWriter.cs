using InstaDeploy.ControlPlane.Infrastructure;

namespace InstaDeploy.ControlPlane.Jobs.Output;

/// <summary>
/// Appends streamed output to the store in batches: it wakes when there is output, stores every job's new lines in
/// one group-committed write, then lets <see cref="Coalesce"/> pass before the next, so a chatty job costs a write per
/// interval, not per message. Followers never wait for it: they get lines from memory. Also ends in memory, from the
/// store's record, any live output whose job ended without this process seeing it end.
/// </summary>
public sealed class JobOutputWriter(JobOutputHub hub, JobWriteBatcher batcher, JobReads reads, TimeProvider time, ILogger<JobOutputWriter> logger) : BackgroundService
{
    /// <summary>The least time between two writes of output (a cadence of I/O, not a deadline: on the system clock).</summary>
    public static readonly TimeSpan Coalesce = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan QuietCheck = TimeSpan.FromSeconds(30);

    /// <summary>How often idle followers get a keep-alive comment.</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastSweep = Environment.TickCount64;
        var lastKeepAlive = Environment.TickCount64;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    quiet.CancelAfter(KeepAliveInterval);
                    try
                    {
                        await hub.WaitForUnstoredAsync(quiet.Token);
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                    }
                }
                await FlushAsync();
                if (Environment.TickCount64 - lastKeepAlive >= KeepAliveInterval.TotalMilliseconds)
                {
                    lastKeepAlive = Environment.TickCount64;
                    hub.KeepAlive(lastKeepAlive - (long)KeepAliveInterval.TotalMilliseconds);
                }
                if (Environment.TickCount64 - lastSweep > QuietCheck.TotalMilliseconds)
                {
                    await SweepAsync(stoppingToken);
                    lastSweep = Environment.TickCount64;
                }
                await Task.Delay(Coalesce, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await FlushAsync(); // what arrived before the stop
    }

    private async Task FlushAsync()
    {
        var taken = hub.TakeUnstored();
        if (taken.Count == 0) return;
        var chunks = new List<(string JobId, LiveJobOutput Output, OutputChunk Chunk, long Through)>(taken.Count);
        foreach (var (jobId, output) in taken)
            if (output.TakeChunk(jobId) is { } next) chunks.Add((jobId, output, next.Chunk, next.Through));
        if (chunks.Count == 0) return;
        try
        {
            await batcher.AppendOutputAsync([.. chunks.Select(c => c.Chunk)], time.GetUtcNow());
            foreach (var chunk in chunks) chunk.Output.Stored(chunk.Through);
            hub.RaiseOutputStored([.. chunks.Select(c => (c.JobId, c.Through))]);
        }
        catch (Exception e)
        {
            // The lines stay in memory (followers still get them) and are tried again with the next flush.
            logger.BackgroundTickFailed(e, nameof(JobOutputWriter));
            foreach (var chunk in chunks)
            {
                chunk.Output.StoreFailed(chunk.Chunk);
                hub.RequeueUnstored(chunk.JobId);
            }
        }
    }

    /// <summary>Live output quiet for a while whose job has ended in the store (it ended in a race with its first line,
    /// or another path ended it) is completed from the store's record, so no follower waits on it forever.</summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        foreach (var jobId in hub.QuietSince(Environment.TickCount64 - (long)QuietCheck.TotalMilliseconds))
        {
            try
            {
                var final = await reads.ReadFinalAsync(jobId, cancellationToken);
                if (final is null) hub.Complete(jobId, null, Contracts.JobStatuses.Failed, "the job no longer exists");
                else if (Contracts.JobStatuses.IsTerminal(final.Value.Status))
                    hub.Complete(jobId, new JobLogs.Kept(final.Value.Logs, final.Value.DroppedLines), final.Value.Status, final.Value.Error);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.BackgroundTickFailed(e, nameof(JobOutputWriter));
            }
        }
    }
}
