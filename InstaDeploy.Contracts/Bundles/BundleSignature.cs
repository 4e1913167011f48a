using System.Security.Cryptography;

namespace InstaDeploy.Contracts.Bundles;

/// <summary>
/// The signature on a bundle: ECDSA P-256 over the SHA-256 of the whole file, DER-encoded (RFC 3279, the form
/// <c>openssl dgst -sha256 -sign</c> writes), carried as base64 text. The operator signs with a private key that stays
/// on their machine; agents and the control plane hold only public keys.
/// </summary>
public static class BundleSignature
{
    /// <summary>Most public keys one setting may hold (a key being rotated in beside the current one, say).</summary>
    public const int MaxKeys = 16;

    /// <summary>The SHA-256 of a stream read to its end.</summary>
    public static byte[] Hash(Stream content) => SHA256.HashData(content);

    /// <summary>Signs a file's hash with the operator's private key; the signature as base64 text.</summary>
    public static string Sign(ECDsa privateKey, byte[] sha256)
    {
        RequireP256(privateKey, "the private key");
        return Convert.ToBase64String(privateKey.SignHash(sha256, DSASignatureFormat.Rfc3279DerSequence));
    }

    /// <summary>Whether one of <paramref name="publicKeys"/> signed <paramref name="sha256"/>; the signature as base64 text of
    /// DER (or, accepted as well, the raw DER bytes or the 64-byte r‖s form).</summary>
    public static bool Verify(IReadOnlyList<ECDsa> publicKeys, byte[] sha256, byte[] signature)
    {
        var der = Decode(signature);
        if (der is null) return false;
        foreach (var key in publicKeys)
        {
            if (der.Length == 64 && key.VerifyHash(sha256, der, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)) return true;
            if (key.VerifyHash(sha256, der, DSASignatureFormat.Rfc3279DerSequence)) return true;
        }
        return false;
    }

    /// <summary>A signature file's bytes as the signature: base64 text (whitespace ignored) or raw bytes.</summary>
    public static byte[]? Decode(byte[] signature)
    {
        if (signature.Length is 0 or > 4096) return null;
        if (signature[0] == 0x30 && signature.Length is > 8 and < 80) return signature; // raw DER
        var text = System.Text.Encoding.ASCII.GetString(signature).Trim();
        try
        {
            var bytes = Convert.FromBase64String(text);
            return bytes.Length is > 8 and < 80 ? bytes : null;
        }
        catch (FormatException)
        {
            return signature.Length == 64 ? signature : null;
        }
    }

    /// <summary>
    /// Public keys from a setting: a path to a PEM file, or PEM text itself; one or more
    /// <c>-----BEGIN PUBLIC KEY-----</c> blocks, each an ECDSA P-256 key. Throws <see cref="BundleException"/> naming what is wrong.
    /// </summary>
    public static IReadOnlyList<ECDsa> LoadPublicKeys(string pathOrPem)
    {
        var text = pathOrPem.Contains("-----BEGIN", StringComparison.Ordinal) ? pathOrPem : ReadFile(pathOrPem.Trim());
        var keys = new List<ECDsa>();
        const string Begin = "-----BEGIN PUBLIC KEY-----", End = "-----END PUBLIC KEY-----";
        var at = 0;
        while ((at = text.IndexOf(Begin, at, StringComparison.Ordinal)) >= 0)
        {
            var end = text.IndexOf(End, at, StringComparison.Ordinal);
            if (end < 0) throw new BundleException("a PEM block has no -----END PUBLIC KEY----- line");
            var key = ECDsa.Create();
            try
            {
                key.ImportFromPem(text.AsSpan(at, end + End.Length - at));
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                key.Dispose();
                throw new BundleException($"key {keys.Count + 1} is not an ECDSA public key in PEM: {e.Message}");
            }
            RequireP256(key, $"key {keys.Count + 1}");
            keys.Add(key);
            if (keys.Count > MaxKeys) throw new BundleException($"more than {MaxKeys} public keys");
            at = end + End.Length;
        }
        if (keys.Count == 0) throw new BundleException("no '-----BEGIN PUBLIC KEY-----' block (give the PEM file 'instadeploy-bundle-tool keygen' wrote, or its text)");
        return keys;
    }

    /// <summary>A short fingerprint of a public key (the first 16 hex digits of the SHA-256 of its SubjectPublicKeyInfo), to
    /// tell keys apart in logs and answers.</summary>
    public static string Fingerprint(ECDsa key) => Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];

    private static string ReadFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new BundleException($"'{path}' is neither PEM text nor an existing file");
            if (info.Length > 64 * 1024) throw new BundleException($"'{path}' is larger than 64 KiB: not a public key file");
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BundleException($"'{path}' cannot be read: {e.Message}");
        }
    }

    private static void RequireP256(ECDsa key, string what)
    {
        var curve = key.ExportParameters(false).Curve;
        if (key.KeySize != 256 || curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            throw new BundleException($"{what} is not on the P-256 curve (ECDSA P-256 keys only)");
    }
}
