using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace InstaDeploy.Agent.Connection;

/// <summary>
/// Certificate checks for wss:// and https://: the system's trust store always; with AGENT_CA_CERT (a PEM file), a
/// certificate issued by that CA is trusted too — for control planes behind a private CA. Host names are always
/// checked; nothing is ever accepted blindly.
/// </summary>
internal static class AgentTls
{
    public static X509Certificate2 LoadCa(string path) => X509CertificateLoader.LoadCertificate(File.ReadAllBytes(path) is var bytes && IsPem(bytes)
        ? X509Certificate2.CreateFromPem(File.ReadAllText(path)).Export(X509ContentType.Cert)
        : bytes);

    private static bool IsPem(byte[] bytes) => bytes.Length > 10 && System.Text.Encoding.ASCII.GetString(bytes, 0, 10).StartsWith("-----BEGIN");

    /// <summary>The validation callback for a custom CA, or null to use the system's default checks only.</summary>
    public static RemoteCertificateValidationCallback? Validator(AgentOptions options)
    {
        if (options.CaCertificatePath is null) return null;
        var ca = LoadCa(options.CaCertificatePath);
        return (_, certificate, _, errors) =>
        {
            if (errors == SslPolicyErrors.None) return true;
            if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(certificate));
        };
    }
}
