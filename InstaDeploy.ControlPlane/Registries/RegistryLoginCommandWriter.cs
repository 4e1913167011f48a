using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Delivery;

namespace InstaDeploy.ControlPlane.Registries;

/// <summary>REGISTRY_LOGIN carries its login encrypted in the job; it is decrypted into the command only as it is written
/// to the socket of an agent that announced registry-auth.</summary>
public sealed class RegistryLoginCommandWriter(RegistryProtector protector) : ICommandWriter
{
    public string CommandType => CommandTypes.RegistryLogin;

    public WirePayload Write(JobEntity job, AgentCapabilities agent)
    {
        if (!agent.Has(HandshakeHeaders.FeatureRegistryAuth))
            return WirePayload.Refuse($"agent '{job.AgentId}' does not take registry logins; the test was not sent.");
        if (job.SecretsProtected is not { } secrets) return WirePayload.Refuse("the job carries no registry login");
        JobSecrets carried;
        try
        {
            carried = protector.UnprotectJobSecrets(secrets);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return WirePayload.Refuse("the registry login cannot be decrypted: the Data Protection key ring (INSTADEPLOY_KEY_RING_DIR) is missing or not the one it was encrypted with. Set the login again (PUT /registries/{host}).");
        }
        var payload = JsonSerializer.Deserialize(job.PayloadJson, CommandPayloadJson.RegistryLogin)! with
        {
            RegistryAuths = [.. carried.Logins.Select(l => new RegistryAuth(l.Host, l.Username, l.Password))],
        };
        return WirePayload.Send(JsonSerializer.Serialize(payload, CommandPayloadJson.RegistryLogin));
    }
}
