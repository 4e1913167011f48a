using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;

namespace InstaDeploy.ControlPlane.Registries;

/// <summary>A registry login in clear, only ever in memory or in the command written to the agent's socket.</summary>
public sealed record RegistryLogin(string Host, string Username, string Password);

/// <summary>
/// Encrypts registry passwords at rest, and what a job carries, with Data Protection (the key ring that also protects
/// secret variables), under purposes of their own. A job's <see cref="Data.JobEntity.SecretsProtected"/> is either a
/// variables snapshot (as before registry logins existed) or, when the job carries logins, <see cref="EnvelopePrefix"/>
/// and an envelope holding the snapshot (still protected on its own) and the logins.
/// </summary>
public sealed class RegistryProtector(IDataProtectionProvider provider)
{
    /// <summary>Starts a job's secrets that carry registry logins; never the start of a Data Protection payload (base64url has no ':').</summary>
    public const string EnvelopePrefix = "reg1:";

    private readonly IDataProtector _passwords = provider.CreateProtector("InstaDeploy.Registries.Password.v1");
    private readonly IDataProtector _envelopes = provider.CreateProtector("InstaDeploy.Registries.JobSecrets.v1");

    public string ProtectPassword(string password) => _passwords.Protect(password);

    public string UnprotectPassword(string protectedPassword) => _passwords.Unprotect(protectedPassword);

    /// <summary>A job's secrets: its variables snapshot (or none) and its registry logins.</summary>
    public string ProtectJobSecrets(string? variablesSnapshot, IReadOnlyList<RegistryLogin> logins) =>
        EnvelopePrefix + _envelopes.Protect(JsonSerializer.Serialize(new JobSecrets(variablesSnapshot, logins), RegistryJson.Default.JobSecrets));

    /// <summary>The variables snapshot and the logins of a job's secrets (a plain snapshot has no logins).</summary>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The key ring cannot decrypt them.</exception>
    public JobSecrets UnprotectJobSecrets(string secretsProtected)
    {
        if (!secretsProtected.StartsWith(EnvelopePrefix, StringComparison.Ordinal)) return new JobSecrets(secretsProtected, []);
        return JsonSerializer.Deserialize(_envelopes.Unprotect(secretsProtected[EnvelopePrefix.Length..]), RegistryJson.Default.JobSecrets) ?? new JobSecrets(null, []);
    }
}

/// <summary>What a job carries encrypted.</summary>
/// <param name="VariablesSnapshot">The deploy's variables, as <see cref="Deployments.VariableProtector"/> protected them; null for none.</param>
/// <param name="Logins">Its registry logins.</param>
public sealed record JobSecrets(string? VariablesSnapshot, IReadOnlyList<RegistryLogin> Logins);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(JobSecrets))]
internal sealed partial class RegistryJson : System.Text.Json.Serialization.JsonSerializerContext;
