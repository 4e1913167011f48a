using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Delivery;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>
/// A deploy's variables are stored only encrypted (<see cref="JobEntity.SecretsProtected"/>); they are decrypted into the
/// command's <c>env</c> only as it is written to the agent's socket. A seed-protocol agent would ignore them and could
/// not redact the secrets, so a deploy with variables is never sent to one.
/// </summary>
public sealed class DeployCommandWriter(VariableProtector protector, Registries.RegistryProtector registries) : ICommandWriter
{
    public string CommandType => CommandTypes.DeployCompose;

    public WirePayload Write(JobEntity job, AgentCapabilities agent)
    {
        // Queued while the agent was offline, and it came back as a seed-protocol agent: it would ignore the variables
        // (and could not redact the secrets), and it cannot enforce a deploy policy.
        if (!agent.Has(HandshakeHeaders.FeatureProjectConfig))
        {
            if (job.SecretsProtected is not null)
                return WirePayload.Refuse($"agent '{job.AgentId}' speaks the seed protocol only and would ignore the project's variables; the deploy was not sent. Deploy to an InstaDeploy agent, or remove the project's variables and deploy again.");
            if (JsonSerializer.Deserialize(job.PayloadJson, CommandPayloadJson.Deploy)?.Policy is not null)
                return WirePayload.Refuse($"agent '{job.AgentId}' speaks the seed protocol only and cannot enforce the deploy policy that applies to this deploy; it was not sent. Deploy to an InstaDeploy agent, or with a key that has host access.");
        }
        if (job.SecretsProtected is not { } secrets) return WirePayload.Send(job.PayloadJson);
        IReadOnlyList<ProjectVariable>? variables = null;
        Registries.JobSecrets carried;
        try
        {
            carried = registries.UnprotectJobSecrets(secrets);
            if (carried.VariablesSnapshot is { } snapshot) variables = protector.UnprotectSnapshot(snapshot);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return WirePayload.Refuse("the deploy's variables or registry logins cannot be decrypted: the Data Protection key ring (INSTADEPLOY_KEY_RING_DIR) is missing or not the one they were encrypted with. Restore the key ring, or set the project's variables (and registry logins) again and redeploy.");
        }
        // Queued, and the agent came back without registry logins (an older agent): it is never sent the passwords.
        if (carried.Logins.Count > 0 && !agent.Has(HandshakeHeaders.FeatureRegistryAuth))
            return WirePayload.Refuse($"agent '{job.AgentId}' does not take registry logins, so it is never sent the login for {string.Join(", ", carried.Logins.Select(l => l.Host))}; the deploy was not sent. Upgrade the agent, or log in on that server by hand and scope the registry login to the other agents.");
        var stored = JsonSerializer.Deserialize(job.PayloadJson, CommandPayloadJson.Deploy)!;
        var payload = stored with
        {
            Env = variables ?? stored.Env,
            RegistryAuths = carried.Logins.Count == 0 ? null : [.. carried.Logins.Select(l => new RegistryAuth(l.Host, l.Username, l.Password))],
        };
        return WirePayload.Send(JsonSerializer.Serialize(payload, CommandPayloadJson.Deploy));
    }
}
