using System.Globalization;
using System.Text;
using System.Threading.Channels;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Output;
using InstaDeploy.ControlPlane.Rollouts;

namespace InstaDeploy.ControlPlane.Cluster;

/// <summary>
/// What a follower on any instance needs to hear about, when instances share PostgreSQL: a batch of a job's output was
/// stored, a job ended, a rollout changed. The instance where it happened sends a wake-up on
/// <see cref="ClusterSignals.EventsChannel"/> (the job's id and its last stored line, never the lines: a NOTIFY payload
/// holds 8000 bytes); an instance with followers of that job reads the new lines from the store and hands them to its
/// followers through the same in-memory path as lines from its own agents. A lost wake-up costs the
/// <see cref="Poll"/> interval, never a line. On SQLite (one instance) nothing here runs: followers get lines from memory.
/// </summary>
/// <remarks>Payload: the sender's instance id on the first line, then one line per event: <c>o JOB SEQ</c> (output
/// stored through line SEQ), <c>e JOB</c> (the job ended), <c>r ROLLOUT</c> (the rollout has new events).</remarks>
public sealed class ClusterEvents(
    Database database, ClusterIdentity identity, ClusterSignals signals, JobOutputHub hub, JobReads reads, JobEvents jobEvents,
    RolloutSignals rollouts, ILogger<ClusterEvents> logger) : BackgroundService
{
    /// <summary>How often output followed here but fed elsewhere is read from the store anyway (lost wake-ups).</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);

    /// <summary>Room for a payload below PostgreSQL's 8000 bytes (ids are ASCII: characters are bytes).</summary>
    private const int MaxPayload = 7800;

    private readonly Channel<string> _outgoing = Channel.CreateBounded<string>(
        new BoundedChannelOptions(100_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!database.IsPostgres) return Task.CompletedTask;
        hub.OutputStored += OnOutputStored;
        jobEvents.Finished += OnJobFinished;
        rollouts.Changed += OnRolloutChanged;
        signals.EventsArrived += OnEventsAsync;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!database.IsPostgres) return;
        hub.OutputStored -= OnOutputStored;
        jobEvents.Finished -= OnJobFinished;
        rollouts.Changed -= OnRolloutChanged;
        signals.EventsArrived -= OnEventsAsync;
        await base.StopAsync(cancellationToken);
    }

    private void OnOutputStored(IReadOnlyList<(string JobId, long Through)> stored)
    {
        foreach (var (jobId, through) in stored) _outgoing.Writer.TryWrite(string.Create(CultureInfo.InvariantCulture, $"o {jobId} {through}"));
    }

    private void OnJobFinished(FinishedJob job) => _outgoing.Writer.TryWrite("e " + job.Id);

    private void OnRolloutChanged(string rolloutId) => _outgoing.Writer.TryWrite("r " + rolloutId);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(SendAsync(stoppingToken), PollAsync(stoppingToken));

    /// <summary>Sends what is queued, as few notifications as fit it (one per output batch, usually).</summary>
    private async Task SendAsync(CancellationToken stoppingToken)
    {
        var payload = new StringBuilder(MaxPayload + 200);
        try
        {
            while (await _outgoing.Reader.WaitToReadAsync(stoppingToken))
            {
                payload.Clear().Append(identity.Id);
                while (_outgoing.Reader.TryRead(out var line))
                {
                    if (payload.Length + 1 + line.Length > MaxPayload)
                    {
                        await TrySendAsync(payload.ToString(), stoppingToken);
                        payload.Clear().Append(identity.Id);
                    }
                    payload.Append('\n').Append(line);
                }
                await TrySendAsync(payload.ToString(), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task TrySendAsync(string payload, CancellationToken cancellationToken)
    {
        try
        {
            await signals.NotifyEventsAsync(payload, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.BackgroundTickFailed(e, nameof(ClusterEvents)); // the other instances' poll reads it within seconds
        }
    }

    private async Task OnEventsAsync(string payload)
    {
        var lines = payload.Split('\n');
        if (lines.Length < 2 || lines[0] == identity.Id) return; // our own: followers here already have it from memory
        foreach (var line in lines.Skip(1))
        {
            var parts = line.Split(' ');
            try
            {
                switch (parts)
                {
                    case ["o", var jobId, var seq] when long.TryParse(seq, NumberStyles.None, CultureInfo.InvariantCulture, out var through):
                        await CatchUpAsync(jobId, through, CancellationToken.None);
                        break;
                    case ["e", var jobId]:
                        await CompleteIfEndedAsync(jobId, CancellationToken.None);
                        break;
                    case ["r", var rolloutId]:
                        rollouts.NotifyHere(rolloutId);
                        break;
                }
            }
            catch (Exception e)
            {
                logger.BackgroundTickFailed(e, nameof(ClusterEvents));
            }
        }
    }

    /// <summary>Hands this instance's followers of the job the lines another instance stored, through <paramref name="through"/>.</summary>
    private async Task CatchUpAsync(string jobId, long through, CancellationToken cancellationToken)
    {
        if (hub.FedElsewhere(jobId) is not { } live || live.NextSeq > through) return;
        var (first, lines) = await reads.ReadStreamedAsync(jobId, live.NextSeq, through, cancellationToken);
        if (lines.Count > 0) live.AppendStored(first, lines);
    }

    /// <summary>The job ended on another instance: followers here get the rest of its output from its final record, and the end.</summary>
    private async Task CompleteIfEndedAsync(string jobId, CancellationToken cancellationToken)
    {
        if (hub.FedElsewhere(jobId) is null || await reads.ReadHeadAsync(jobId, cancellationToken) is { IsTerminal: false }) return;
        var final = await reads.ReadFinalAsync(jobId, cancellationToken);
        if (final is null) hub.Complete(jobId, null, Contracts.JobStatuses.Failed, "the job no longer exists");
        else if (Contracts.JobStatuses.IsTerminal(final.Value.Status))
            hub.Complete(jobId, new JobLogs.Kept(final.Value.Logs, final.Value.DroppedLines), final.Value.Status, final.Value.Error);
    }

    /// <summary>Reads, every <see cref="Poll"/>, the output of jobs followed here and fed elsewhere, in case a wake-up
    /// was lost (the listening connection dropped, or the queue was full).</summary>
    private async Task PollAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Poll);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var jobId in hub.FollowedFedElsewhere())
                {
                    try
                    {
                        await CatchUpAsync(jobId, long.MaxValue, stoppingToken);
                        await CompleteIfEndedAsync(jobId, stoppingToken);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        logger.BackgroundTickFailed(e, nameof(ClusterEvents));
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
