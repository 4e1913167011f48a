using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;

namespace InstaDeploy.ControlPlane.Registries;

/// <summary>A registry login in clear, only ever in memory or in the command written to the agent's socket.</summary>
public sealed record RegistryLogin(string Host, string Username, string Password);

/// <summary>
/// Encrypts registry passwords at rest, and the logins a job carries, with Data Protection (the key ring that also
/// protects secret variables), under purposes of their own.
/// </summary>
public sealed class RegistryProtector(IDataProtectionProvider provider)
{
    private readonly IDataProtector _passwords = provider.CreateProtector("InstaDeploy.Registries.Password.v1");
    private readonly IDataProtector _logins = provider.CreateProtector("InstaDeploy.Registries.JobLogins.v1");

    public string ProtectPassword(string password) => _passwords.Protect(password);

    public string UnprotectPassword(string protectedPassword) => _passwords.Unprotect(protectedPassword);

    public string ProtectLogins(IReadOnlyList<RegistryLogin> logins) =>
        _logins.Protect(JsonSerializer.Serialize(logins, RegistryJson.Default.IReadOnlyListRegistryLogin));

    public IReadOnlyList<RegistryLogin> UnprotectLogins(string protectedLogins) =>
        JsonSerializer.Deserialize(_logins.Unprotect(protectedLogins), RegistryJson.Default.IReadOnlyListRegistryLogin) ?? [];
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<RegistryLogin>))]
internal sealed partial class RegistryJson : System.Text.Json.Serialization.JsonSerializerContext;
