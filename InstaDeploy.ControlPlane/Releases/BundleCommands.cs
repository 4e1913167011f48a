using InstaDeploy.Contracts;
using InstaDeploy.Contracts.Bundles;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Submission;
using InstaDeploy.ControlPlane.Rollouts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Releases;

/// <summary>
/// The job a bundle rollout sends to one target: UPDATE_AGENT with the release's bundle for the agent's architecture,
/// INSTALL_PLUGIN, or REMOVE_PLUGIN; only to an agent that announced the agent-updates extension. The agent checks the
/// signature itself, with its own key: the control plane only hands on what it was given.
/// </summary>
public sealed class BundleCommands(IDbContextFactory<InstaDeployDbContext> databases, IOptions<ControlPlaneOptions> options)
{
    public static bool IsBundleCommand(string type) => type is CommandTypes.UpdateAgent or CommandTypes.InstallPlugin or CommandTypes.RemovePlugin;


    public JobRequest ForTarget(RolloutEntity rollout, RolloutTargetEntity target) => new()
    {
        Type = rollout.Action switch
        {
            RolloutActions.AgentUpdate => CommandTypes.UpdateAgent,
            RolloutActions.PluginInstall => CommandTypes.InstallPlugin,
            _ => CommandTypes.RemovePlugin,
        },
        AgentId = target.AgentId,
        WaitIfOffline = rollout.Offline == "wait",
        // An update's job ends once the new version has confirmed (or the old one is back): download, drain, restart
        // and the confirmation time all count.
        TimeoutSeconds = rollout.TimeoutSeconds ?? (rollout.Action == RolloutActions.AgentUpdate ? options.Value.AgentUpdateConfirmSeconds + 600 : null),
        QueueTtlSeconds = rollout.QueueTtlSeconds,
        Body = async (agentId, token) =>
        {
            var body = await BodyAsync(rollout, agentId, token);
            return RolloutCommands.Tag(body, rollout, target, restore: false);
        },
    };

    private async Task<CommandBody> BodyAsync(RolloutEntity rollout, string agentId, CancellationToken cancellationToken)
    {
        if (rollout.Action == RolloutActions.PluginRemove)
            return CommandBody.Of(new RemovePluginPayload { Name = rollout.BundleName! }, ReleasePayloadJson.RemovePlugin).RequiringUpdates();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        if (rollout.Action == RolloutActions.AgentUpdate)
        {
            var architecture = await db.Agents.AsNoTracking().Where(a => a.Id == agentId).Select(a => a.Architecture).FirstOrDefaultAsync(cancellationToken) ?? "";
            var bundle = await db.Bundles.AsNoTracking().FirstOrDefaultAsync(b => b.Kind == BundleManifest.KindAgent && b.Name == rollout.BundleName && b.Version == rollout.BundleVersion && b.Architecture == architecture, cancellationToken);
            if (bundle is null)
                return CommandRefusal.BadRequest("No bundle for the agent's architecture",
                    $"Agent release {rollout.BundleVersion} has no bundle for {AgentLabels.Shown(architecture)}, the architecture agent {agentId} reports; upload one (eng/publish-agent-bundles.sh builds linux-amd64 and linux-arm64).");
            return CommandBody.Of(new UpdateAgentPayload
            {
                Version = bundle.Version, Architecture = bundle.Architecture, Sha256 = bundle.Sha256, SizeBytes = bundle.SizeBytes, Signature = bundle.Signature,
                DownloadPath = $"/agents/releases/{Uri.EscapeDataString(bundle.Version)}/bundle?architecture={Uri.EscapeDataString(bundle.Architecture)}",
                ConfirmSeconds = options.Value.AgentUpdateConfirmSeconds,
            }, ReleasePayloadJson.UpdateAgent).RequiringUpdates();
        }
        var package = await db.Bundles.AsNoTracking().FirstOrDefaultAsync(b => b.Kind == BundleManifest.KindPlugin && b.Name == rollout.BundleName && b.Version == rollout.BundleVersion, cancellationToken);
        if (package is null)
            return CommandRefusal.NotFound("Unknown plugin package", $"Plugin package {rollout.BundleName} {rollout.BundleVersion} was deleted after the rollout started.");
        return CommandBody.Of(new InstallPluginPayload
        {
            Name = package.Name, Version = package.Version, Sha256 = package.Sha256, SizeBytes = package.SizeBytes, Signature = package.Signature,
            DownloadPath = $"/agents/plugin-packages/{Uri.EscapeDataString(package.Name)}/{Uri.EscapeDataString(package.Version)}/package",
        }, ReleasePayloadJson.InstallPlugin).RequiringUpdates();
    }
}

internal static class BundleCommandBodies
{
    private static readonly CommandRefusal NoUpdates = CommandRefusal.Conflict("The agent cannot take updates",
        "The agent did not announce the agent-updates extension (a seed-protocol agent, or an InstaDeploy agent older than this feature); update it by hand once.");

    /// <summary>Sent only to an agent that announced agent-updates.</summary>
    public static CommandBody RequiringUpdates(this CommandBody body) => body with { RequiredFeature = (HandshakeHeaders.FeatureAgentUpdates, NoUpdates) };
}
