using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>Checks an agent's bearer token against AGENT_SECRET_TOKEN in constant time.</summary>
public sealed class AgentTokenValidator(IOptions<ControlPlaneOptions> options)
{
    // Hashing first gives both sides the same length, so the comparison time says nothing about the token.
    private readonly byte[] _expectedHash = SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.AgentSecretToken.Trim()));
    // Trimmed like the presented token: a token read from a file often ends in a newline.

    public bool IsValid(string? authorizationHeader)
    {
        if (string.IsNullOrWhiteSpace(options.Value.AgentSecretToken)) return false;
        const string scheme = "Bearer ";
        if (authorizationHeader is null || !authorizationHeader.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(authorizationHeader[scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(presented, _expectedHash);
    }
}
