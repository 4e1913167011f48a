using System.Security.Cryptography;
using System.Text;

namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>How every credential the control plane issues is made and stored: 256 random bits, kept as SHA-256 only.</summary>
internal static class Secrets
{
    /// <summary>A new secret: <paramref name="prefix"/> and 256 random bits, base64url.</summary>
    public static string New(string prefix) => prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>A short random id, for naming a credential without revealing it.</summary>
    public static string NewId(string prefix) => prefix + Base64Url(RandomNumberGenerator.GetBytes(9));

    /// <summary>What is stored of a secret. High-entropy secrets need no salt or slow hash.</summary>
    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret.Trim()));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
