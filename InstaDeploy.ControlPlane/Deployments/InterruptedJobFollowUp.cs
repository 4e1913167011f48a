using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Submission;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>
/// A deploy or stop the agent was running when it died is not run again (at most once), so nobody knows how far it
/// got. The control plane then asks the agent for the project's STATUS, and what the engine really runs becomes the
/// placement's state (running, degraded or stopped).
/// </summary>
public sealed class InterruptedJobFollowUp(JobEvents events, CommandSubmitter submitter, ILogger<InterruptedJobFollowUp> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        events.Finished += OnFinished;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        events.Finished -= OnFinished;
        return Task.CompletedTask;
    }

    private void OnFinished(FinishedJob job)
    {
        if (job is not { Type: CommandTypes.DeployCompose or CommandTypes.StopCompose, ProjectName: { } project, Status: JobStatuses.Failed }
            || !job.Error.StartsWith(JobStatuses.InterruptedPrefix, StringComparison.Ordinal))
            return;
        _ = RefreshAsync(job.AgentId, project);
    }

    private async Task RefreshAsync(string agentId, string project)
    {
        try
        {
            var submission = await submitter.SubmitAsync(ProjectCommands.Request(CommandTypes.Status, project, agentId), CancellationToken.None);
            if (submission.Refusal is { } refusal) logger.FollowUpRefused(project, agentId, refusal.Detail);
        }
        catch (Exception e)
        {
            logger.BackgroundTickFailed(e, nameof(InterruptedJobFollowUp));
        }
    }
}
