using System.Collections.Concurrent;
using System.Threading.Channels;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Jobs;

namespace InstaDeploy.ControlPlane.Rollouts;

/// <summary>
/// Drives every open rollout: a step runs when one of its jobs ends, when it is created or steered, and on a tick
/// (batch waits, and a safety net). Before acting on a rollout it claims it with a conditional update (a lease), so
/// when several control planes share one database only one acts on a rollout at a time. At start it resumes every
/// open rollout from the database, first reconciling its targets with the jobs table.
/// </summary>
public sealed class RolloutEngine(RolloutStore store, RolloutStepper stepper, JobEvents events, RolloutSignals signals, TimeProvider time, ILogger<RolloutEngine> logger)
    : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    private readonly Channel<string> _wakes = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, byte> _queued = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _open = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _resumed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _leasedUntil = new(StringComparer.Ordinal);

    /// <summary>This process's name in rollout leases.</summary>
    public string InstanceId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <summary>Asks for a step of the rollout soon (steps of one rollout never overlap; repeated asks coalesce).</summary>
    public void Wake(string rolloutId, string project)
    {
        _open[rolloutId] = project;
        if (_queued.TryAdd(rolloutId, 0)) _wakes.Writer.TryWrite(rolloutId);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        events.Finished += OnJobFinished;
        try
        {
            foreach (var (id, project) in await store.OpenAsync(stoppingToken)) Wake(id, project);
            using var ticker = new PeriodicTimer(Tick, time);
            var ticks = TickAsync(ticker, stoppingToken);
            await foreach (var rolloutId in _wakes.Reader.ReadAllAsync(stoppingToken))
            {
                _queued.TryRemove(rolloutId, out _);
                await StepAsync(rolloutId, stoppingToken);
            }
            await ticks;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            events.Finished -= OnJobFinished;
        }
    }

    private async Task TickAsync(PeriodicTimer ticker, CancellationToken stoppingToken)
    {
        try
        {
            while (await ticker.WaitForNextTickAsync(stoppingToken))
                foreach (var (id, project) in _open) Wake(id, project);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task StepAsync(string rolloutId, CancellationToken stoppingToken)
    {
        try
        {
            // The lease is renewed once half of it has run out, not at every step (a write each time).
            var now = time.GetUtcNow();
            var held = _leasedUntil.TryGetValue(rolloutId, out var until) && until - now > Lease / 2;
            if (!held)
            {
                if (!await store.TryLeaseAsync(rolloutId, InstanceId, Lease, stoppingToken))
                {
                    _leasedUntil.TryRemove(rolloutId, out _);
                    // Finished, or another instance holds it: forget it unless it is still open.
                    if (await store.ReadAsync(rolloutId, stoppingToken) is not var (rollout, _) || !RolloutStates.IsOpen(rollout.State))
                        _open.TryRemove(rolloutId, out _);
                    return;
                }
                _leasedUntil[rolloutId] = now + Lease;
            }
            if (_resumed.TryAdd(rolloutId, 0) && await store.ReconcileAsync(rolloutId, stoppingToken) is var reconciled and > 0)
                logger.RolloutResumed(rolloutId, reconciled);
            if (await store.OnlyWaitsAsync(rolloutId, stoppingToken)) return;
            if (!await stepper.StepAsync(rolloutId, stoppingToken))
            {
                _open.TryRemove(rolloutId, out _);
                _resumed.TryRemove(rolloutId, out _);
                _leasedUntil.TryRemove(rolloutId, out _);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            logger.StepFailed(e, rolloutId);
        }
    }

    /// <summary>A rollout's job ended: its target's row already says so (same transaction); wake the rollout and its
    /// event streams.</summary>
    private void OnJobFinished(FinishedJob job)
    {
        // A bundle rollout (agent update, plugin) has no project: its rollouts are the ones of project "".
        var project = Releases.BundleCommands.IsBundleCommand(job.Type) ? ""
            : job is { Type: CommandTypes.DeployCompose or CommandTypes.StopCompose, ProjectName: { } name } ? name : null;
        if (project is null) return;
        foreach (var (id, of) in _open)
        {
            if (of != project) continue;
            signals.Notify(id);
            Wake(id, project);
        }
    }
}
