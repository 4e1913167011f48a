namespace InstaDeploy.ControlPlane.Registries;

/// <summary>
/// A login for one image registry, for every agent, one agent or the agents a selector matches. The password (or token)
/// is stored only as a Data Protection payload; it is never returned by the API.
/// </summary>
public sealed class RegistryCredentialEntity
{
    /// <summary>The registry host as image references name it (<c>ghcr.io</c>, <c>127.0.0.1:5000</c>; <c>docker.io</c> for Docker Hub).</summary>
    public required string Host { get; set; }

    /// <summary>Which agents it is for: "" (every agent), <c>agent:&lt;id&gt;</c> or <c>selector:&lt;selector&gt;</c>.</summary>
    public required string Scope { get; set; }

    /// <summary>The one agent it is for, if any.</summary>
    public string? AgentId { get; set; }

    /// <summary>The label selector of the agents it is for, if any.</summary>
    public string? Selector { get; set; }

    public required string Username { get; set; }

    /// <summary>The password or token, encrypted (<see cref="RegistryProtector"/>).</summary>
    public required string PasswordProtected { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The name of the API key that last set it.</summary>
    public string UpdatedBy { get; set; } = "";
}
