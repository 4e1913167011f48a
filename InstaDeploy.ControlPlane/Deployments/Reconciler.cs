using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Delivery;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>Why a STATUS was asked for: recorded on the placement with what it found.</summary>
public sealed record ReconcileReason(string Why);

/// <summary>
/// Level-triggered: after every outcome that leaves what the engine runs uncertain, and every so often anyway, the
/// control plane asks the agent for the project's STATUS, and what the engine runs (its containers say which revision
/// started them) becomes the placement's state and current revision, with why it was asked. Uncertain outcomes: a deploy
/// or stop that timed out, was interrupted by the agent's crash or stop, or whose result arrived late; an agent that comes
/// back after being away.
/// </summary>
public sealed class Reconciler(
    JobEvents events,
    CommandSubmitter submitter,
    IAgentLinks links,
    IDbContextFactory<InstaDeployDbContext> databases,
    IOptions<ControlPlaneOptions> options,
    TimeProvider time,
    ILogger<Reconciler> logger) : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        events.Finished += OnFinished;
        events.Reconnected += OnReconnected;
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        events.Finished -= OnFinished;
        events.Reconnected -= OnReconnected;
        return base.StopAsync(cancellationToken);
    }

    private void OnFinished(FinishedJob job)
    {
        if (job is not { Type: CommandTypes.DeployCompose or CommandTypes.StopCompose, ProjectName: { } project }) return;
        var why = job switch
        {
            { ArrivedLate: true } => $"after the late result of job {job.Id}",
            { Status: JobStatuses.TimedOut } => $"after job {job.Id} timed out",
            { Status: JobStatuses.Failed } when job.Error.StartsWith(JobStatuses.InterruptedPrefix, StringComparison.Ordinal) => $"after job {job.Id} was interrupted",
            { Status: JobStatuses.Failed } when job.Error.Contains("shutting down", StringComparison.Ordinal) => $"after job {job.Id} was cut short by the agent's stop",
            _ => null,
        };
        if (why is not null) _ = CheckAsync(job.AgentId, project, why);
    }

    private void OnReconnected(string agentId, TimeSpan away) => _ = CheckAgentAsync(agentId, $"after agent '{agentId}' came back from {away.TotalSeconds:0} s away");

    /// <summary>Every INSTADEPLOY_RECONCILE_SECONDS, the placements of connected agents not compared with the engine for
    /// that long are, a few at a time.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = TimeSpan.FromSeconds(options.Value.ReconcileSeconds);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Min(60, options.Value.ReconcileSeconds)), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var before = time.GetUtcNow() - every;
                    await using var db = await databases.CreateDbContextAsync(stoppingToken);
                    var stale = await db.Deployments.AsNoTracking()
                        .Where(d => d.State != DeploymentStates.Stopped && (d.ObservedAt == null || d.ObservedAt < before)
                            && db.Agents.Any(a => a.Id == d.AgentId && a.Online))
                        .OrderBy(d => d.ObservedAt).Take(100).Select(d => new { d.AgentId, d.ProjectName }).ToListAsync(stoppingToken);
                    foreach (var placement in stale.Where(p => links.TryGet(p.AgentId, out _)))
                        await CheckAsync(placement.AgentId, placement.ProjectName, $"the check every {every.TotalSeconds:0} s");
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.BackgroundTickFailed(e, nameof(Reconciler));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task CheckAgentAsync(string agentId, string why)
    {
        try
        {
            await using var db = await databases.CreateDbContextAsync();
            var projects = await db.Deployments.AsNoTracking().Where(d => d.AgentId == agentId && d.State != DeploymentStates.Stopped)
                .Select(d => d.ProjectName).ToListAsync();
            foreach (var project in projects) await CheckAsync(agentId, project, why);
        }
        catch (Exception e)
        {
            logger.BackgroundTickFailed(e, nameof(Reconciler));
        }
    }

    private async Task CheckAsync(string agentId, string project, string why)
    {
        try
        {
            var request = ProjectCommands.Request(CommandTypes.Status, project, agentId) with
            {
                Body = (_, _) => ValueTask.FromResult(CommandBody.Of(new ProjectPayload { ProjectName = project }, CommandPayloadJson.Project) with { HookState = new ReconcileReason(why) }),
            };
            var submission = await submitter.SubmitAsync(request, CancellationToken.None);
            if (submission.Refusal is { } refusal) logger.FollowUpRefused(project, agentId, refusal.Detail);
        }
        catch (Exception e)
        {
            logger.BackgroundTickFailed(e, nameof(Reconciler));
        }
    }
}
