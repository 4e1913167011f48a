using System.Security.Claims;
using System.Text.Json.Nodes;
using InstaDeploy.Compose;
using InstaDeploy.Contracts;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>What the deploy policy says about one deploy or rollback before it is sent.</summary>
/// <param name="AgentPolicy">The command's <see cref="DeployPayload.Policy"/> field, telling the agent to enforce the policy
/// on the model compose resolves; null when the policy does not apply.</param>
/// <param name="Violations">What the control plane's check refuses, joined; null when nothing.</param>
/// <param name="Unenforceable">Why the agent cannot enforce the policy (a seed-protocol agent); null when it can.</param>
public sealed record DeployPolicyDecision(JsonObject? AgentPolicy, string? Violations, string? Unenforceable);

/// <summary>
/// The control plane's side of the deploy policy: it applies to every deploy when INSTADEPLOY_POLICY is on, and always
/// to a deploy key without host access. The control plane refuses early what it can see in the file; the command then
/// tells the agent to check the model compose resolves before every <c>up</c>, which decides.
/// </summary>
public sealed class DeployPolicy(IOptions<ControlPlaneOptions> options, Hub.AgentConnectionRegistry registry, VariableProtector protector)
{
    /// <summary>Decides for a deploy of <paramref name="yaml"/> with the project's <paramref name="variables"/>.</summary>
    public DeployPolicyDecision Decide(ClaimsPrincipal user, string agentId, string yaml, IReadOnlyList<DeployVariable> variables)
    {
        var restricted = ApiKeys.ApiKeyScopes.IsRestricted(user);
        if (!options.Value.PolicyEnabled && !restricted) return new DeployPolicyDecision(null, null, null);
        var settings = options.Value.Policy;
        var why = options.Value.PolicyEnabled ? "" : " (this API key has no host access)";
        if (registry.TryGet(agentId, out var connection) && !connection.ProjectConfig)
            return new DeployPolicyDecision(null, null,
                $"Agent '{agentId}' speaks the seed protocol only and cannot enforce the deploy policy that applies to this deploy{why}. Deploy to an InstaDeploy agent, or with a key that has host access.");

        var found = ComposePolicy.Check(yaml, settings, ComposeVariables.ControlPlane(variables.Select(v => KeyValuePair.Create(v.Name, v.Value))));
        string? violations = null;
        if (found.Count > 0)
        {
            // A refusal may quote a value the file took from a variable: a secret one is never shown.
            violations = string.Join("; ", found) + why;
            foreach (var secret in variables.Where(v => v.Secret && v.Value.Length > 0).Select(v => v.Value).OrderByDescending(v => v.Length))
                violations = violations.Replace(secret, "********", StringComparison.Ordinal);
        }
        var agentPolicy = new JsonObject
        {
            [DeployPayload.PolicyBindAllow] = new JsonArray([.. settings.BindAllow.Select(p => (JsonNode)p)]),
            [DeployPayload.PolicyCapAddAllow] = new JsonArray([.. settings.CapAddAllow.Select(c => (JsonNode)c)]),
        };
        return new DeployPolicyDecision(agentPolicy, violations, null);
    }

    /// <summary>Decides for a rollback to a revision, with the variables it was deployed with.</summary>
    public DeployPolicyDecision Decide(ClaimsPrincipal user, string agentId, string yaml, string? variablesProtected)
    {
        if (variablesProtected is null) return Decide(user, agentId, yaml, []);
        IReadOnlyList<DeployVariable> variables;
        try
        {
            variables = protector.UnprotectSnapshot(variablesProtected);
        }
        catch (System.Security.Cryptography.CryptographicException) when (options.Value.PolicyEnabled || ApiKeys.ApiKeyScopes.IsRestricted(user))
        {
            return new DeployPolicyDecision(null,
                "the revision's variables cannot be decrypted (the key ring in INSTADEPLOY_KEY_RING_DIR is missing or another one), so the deploy policy cannot check what the file becomes; restore the key ring, or set the variables again and deploy anew", null);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return new DeployPolicyDecision(null, null, null); // no policy applies; the dispatcher reports the key ring
        }
        return Decide(user, agentId, yaml, variables);
    }
}
