using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Jobs;

/// <summary>
/// A deploy or stop the agent was running when it died is not run again (at most once), so nobody knows how far it
/// got. The control plane then asks the agent for the project's STATUS, and what the engine really runs becomes the
/// placement's state (running, degraded or stopped).
/// </summary>
public sealed class InterruptedJobFollowUp(IDbContextFactory<InstaDeployDbContext> databases, JobDispatcher dispatcher)
{
    public async Task RefreshProjectStateAsync(string agentId, string jobId)
    {
        await using var db = await databases.CreateDbContextAsync();
        var job = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId && j.AgentId == agentId);
        if (job is not { Type: CommandTypes.DeployCompose or CommandTypes.StopCompose, ProjectName: { } project }) return;
        var payload = JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["project_name"] = project });
        await dispatcher.DispatchAsync(agentId, CommandTypes.Status, project, payload, null, null, CancellationToken.None);
    }
}
