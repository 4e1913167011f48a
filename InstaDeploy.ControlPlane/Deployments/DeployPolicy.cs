using InstaDeploy.Compose;
using InstaDeploy.Contracts;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>What the deploy policy says about one deploy or rollback before it is sent.</summary>
/// <param name="AgentPolicy">The command's <see cref="DeployPayload.Policy"/> field, telling the agent to enforce the policy
/// on the model compose resolves; null when the policy does not apply. Only an InstaDeploy agent can enforce it.</param>
/// <param name="Violations">What the control plane's check refuses, joined; null when nothing.</param>
/// <param name="Why">Why the policy applies: the control plane's setting, or the key's lack of host access.</param>
public sealed record DeployPolicyDecision(DeployPolicyPayload? AgentPolicy, string? Violations, string Why = "");

/// <summary>
/// The control plane's side of the deploy policy: it applies to every deploy when INSTADEPLOY_POLICY is on, and always
/// to a deploy key without host access. The control plane refuses early what it can see in the file; the command then
/// tells the agent to check the model compose resolves before every <c>up</c>, which decides.
/// </summary>
public sealed class DeployPolicy(IOptions<ControlPlaneOptions> options, VariableProtector protector)
{
    /// <summary>Decides for a deploy of <paramref name="yaml"/> with the project's <paramref name="variables"/>.</summary>
    /// <param name="restricted">Whether the deploy was asked for with a key without host access (<see cref="Deployer.Restricted"/>).</param>
    /// <param name="yaml">The compose file.</param>
    /// <param name="variables">The project's variables for the agent, as compose will interpolate them.</param>
    public DeployPolicyDecision Decide(bool restricted, string yaml, IReadOnlyList<ProjectVariable> variables)
    {
        if (!options.Value.PolicyEnabled && !restricted) return new DeployPolicyDecision(null, null);
        var settings = options.Value.Policy;
        var why = options.Value.PolicyEnabled ? "" : " (this API key has no host access)";

        var found = ComposePolicy.Check(yaml, settings, ComposeVariables.ControlPlane(variables.Select(v => KeyValuePair.Create(v.Name, v.Value))));
        string? violations = null;
        if (found.Count > 0)
        {
            // A refusal may quote a value the file took from a variable: a secret one is never shown.
            violations = string.Join("; ", found) + why;
            foreach (var secret in variables.Where(v => v.Secret && v.Value.Length > 0).Select(v => v.Value).OrderByDescending(v => v.Length))
                violations = violations.Replace(secret, "********", StringComparison.Ordinal);
        }
        return new DeployPolicyDecision(new DeployPolicyPayload([.. settings.BindAllow], [.. settings.CapAddAllow]), violations, why);
    }

    /// <summary>Decides for a rollback to a revision, with the variables it was deployed with.</summary>
    public DeployPolicyDecision Decide(bool restricted, string yaml, string? variablesProtected)
    {
        if (variablesProtected is null) return Decide(restricted, yaml, []);
        IReadOnlyList<ProjectVariable> variables;
        try
        {
            variables = protector.UnprotectSnapshot(variablesProtected);
        }
        catch (System.Security.Cryptography.CryptographicException) when (options.Value.PolicyEnabled || restricted)
        {
            return new DeployPolicyDecision(null,
                "the revision's variables cannot be decrypted (the key ring in INSTADEPLOY_KEY_RING_DIR is missing or another one), so the deploy policy cannot check what the file becomes; restore the key ring, or set the variables again and deploy anew");
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return new DeployPolicyDecision(null, null); // no policy applies; the dispatcher reports the key ring
        }
        return Decide(restricted, yaml, variables);
    }
}
