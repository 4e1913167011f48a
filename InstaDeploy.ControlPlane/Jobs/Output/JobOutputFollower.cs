using InstaDeploy.Contracts;

namespace InstaDeploy.ControlPlane.Jobs.Output;

/// <summary>
/// The one way to read or follow a job's output, for every endpoint and page that shows it: what is stored, then what is
/// in memory, then each new line as it arrives, each line exactly once, whenever the follower joins.
/// </summary>
public sealed class JobOutputFollower(JobOutputHub hub, JobReads reads)
{
    /// <summary>Whether the job exists.</summary>
    public async Task<bool> ExistsAsync(string jobId, CancellationToken cancellationToken) => await reads.ReadHeadAsync(jobId, cancellationToken) is not null;

    /// <summary>The job's output so far (stored and in memory), or null for an unknown job.</summary>
    public async Task<(JobReads.JobHead Head, string Text)?> ReadAsync(string jobId, CancellationToken cancellationToken)
    {
        var head = await reads.ReadHeadAsync(jobId, cancellationToken);
        if (head is null) return null;
        if (!head.IsTerminal)
        {
            var (first, lines) = await reads.ReadStreamedAsync(jobId, 1, long.MaxValue, cancellationToken);
            var last = lines.Count == 0 ? 0 : first + lines.Count - 1;
            lines.AddRange(hub.LinesAfter(jobId, last));
            // Still open after the read: the lines are its output so far. Ended meanwhile: its final record is the answer.
            if (await reads.ReadHeadAsync(jobId, cancellationToken) is { IsTerminal: false } open)
                return (open, lines.Count == 0 ? "" : string.Join('\n', lines) + "\n");
        }
        var final = await reads.ReadFinalAsync(jobId, cancellationToken);
        return final is null ? null : (head with { Status = final.Value.Status }, final.Value.Logs);
    }

    /// <summary>
    /// Hands <paramref name="emit"/> every event of the job after line <paramref name="afterSeq"/> (0: from the start):
    /// lines, a reset if the final record differs from what was streamed, keep-alives while it is quiet, and last its end.
    /// <paramref name="flush"/>, when given, is called whenever every event there is so far has been emitted, before
    /// waiting for more and at the end: a follower that fell behind by several events gets them in one write.
    /// </summary>
    public async Task FollowAsync(string jobId, long afterSeq, Func<OutputEvent, ValueTask> emit, CancellationToken cancellationToken, Func<ValueTask>? flush = null)
    {
        flush ??= static () => ValueTask.CompletedTask;
        var sent = afterSeq;
        while (true)
        {
            var head = await reads.ReadHeadAsync(jobId, cancellationToken);
            if (head is null || head.IsTerminal)
            {
                await EmitFinalAsync(jobId, sent, emit, cancellationToken);
                await flush();
                return;
            }
            using var subscription = await hub.SubscribeAsync(jobId, head.AgentId, sent, cancellationToken);
            if (subscription.CreatedEntry && await reads.ReadHeadAsync(jobId, cancellationToken) is null or { IsTerminal: true })
            {
                hub.Forget(jobId, subscription); // it ended just before the entry was made: its record is final
                continue;
            }
            if (sent < subscription.StoredUpTo)
            {
                var (first, lines) = await reads.ReadStreamedAsync(jobId, sent + 1, subscription.StoredUpTo, cancellationToken);
                if (lines.Count > 0)
                {
                    await emit(new LinesEvent(first, lines));
                    sent = first + lines.Count - 1;
                }
                if (sent < subscription.StoredUpTo && await reads.ReadHeadAsync(jobId, cancellationToken) is null or { IsTerminal: true })
                {
                    // It ended while this was read: the rest is in the final record.
                    await EmitFinalAsync(jobId, sent, emit, cancellationToken);
                    await flush();
                    return;
                }
                sent = Math.Max(sent, subscription.StoredUpTo); // lines past the job-log cap were never stored
            }
            if (subscription.Backlog is { } backlog) sent = await EmitNewAsync(backlog, sent, emit);

            while (await FlushThenWaitAsync(subscription.Events, flush, cancellationToken))
            {
                while (subscription.Events.TryRead(out var next))
                {
                    switch (next)
                    {
                        case LinesEvent lines:
                            sent = await EmitNewAsync(lines, sent, emit);
                            break;
                        case ResetEvent reset:
                            await emit(reset);
                            sent = reset.LastSeq;
                            break;
                        case EndEvent:
                            await emit(next);
                            await flush();
                            return;
                        default:
                            await emit(next);
                            break;
                    }
                }
            }
            // Ended without an end event: dropped for falling behind, or it completed as this follower joined. Again,
            // from the last line sent.
        }
    }

    private static async ValueTask<bool> FlushThenWaitAsync(System.Threading.Channels.ChannelReader<OutputEvent> events, Func<ValueTask> flush, CancellationToken cancellationToken)
    {
        await flush();
        return await events.WaitToReadAsync(cancellationToken);
    }

    /// <summary>Waits until the job ends; returns how.</summary>
    public async Task<EndEvent> WaitForEndAsync(string jobId, CancellationToken cancellationToken)
    {
        EndEvent? end = null;
        await FollowAsync(jobId, long.MaxValue / 2, item =>
        {
            if (item is EndEvent e) end = e;
            return ValueTask.CompletedTask;
        }, cancellationToken);
        return end ?? new EndEvent(JobStatuses.Failed, "the job no longer exists");
    }

    private static async ValueTask<long> EmitNewAsync(LinesEvent lines, long sent, Func<OutputEvent, ValueTask> emit)
    {
        if (lines.LastSeq <= sent) return sent;
        var skip = (int)Math.Max(0, sent + 1 - lines.FirstSeq);
        await emit(skip == 0 ? lines : new LinesEvent(lines.FirstSeq + skip, [.. lines.Lines.Skip(skip)]));
        return lines.LastSeq;
    }

    private async Task EmitFinalAsync(string jobId, long sent, Func<OutputEvent, ValueTask> emit, CancellationToken cancellationToken)
    {
        var final = await reads.ReadFinalAsync(jobId, cancellationToken);
        if (final is null)
        {
            await emit(new EndEvent(JobStatuses.Failed, "the job no longer exists"));
            return;
        }
        var (status, error, logs, dropped) = final.Value;
        if (logs.Length > 0) await EmitNewAsync(new LinesEvent(dropped + 1L, JobLogs.SplitLines(logs)), sent, emit);
        await emit(new EndEvent(status, error));
    }
}
