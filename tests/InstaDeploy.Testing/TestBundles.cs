using System.Net.Http.Headers;
using System.Security.Cryptography;
using InstaDeploy.Contracts.Bundles;

namespace InstaDeploy.Testing;

/// <summary>An operator's signing key for tests, and signed bundles made with it (as the bundle tool makes them).</summary>
public sealed class TestReleaseKey : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The public key as PEM text: what INSTADEPLOY_RELEASE_PUBLIC_KEYS and AGENT_UPDATE_PUBLIC_KEY take.</summary>
    public string PublicPem => _key.ExportSubjectPublicKeyInfoPem();

    public string Fingerprint => BundleSignature.Fingerprint(_key);

    /// <summary>Packs <paramref name="folder"/> into <paramref name="bundlePath"/> and returns its signature (base64 text).</summary>
    public async Task<string> PackAndSignAsync(string folder, BundleManifest manifest, string bundlePath)
    {
        await using (var file = File.Create(bundlePath)) await BundleArchive.PackAsync(folder, manifest, file);
        return Sign(bundlePath);
    }

    public string Sign(string bundlePath)
    {
        using var file = File.OpenRead(bundlePath);
        return BundleSignature.Sign(_key, BundleSignature.Hash(file));
    }

    public void Dispose() => _key.Dispose();
}

public static class TestBundles
{
    /// <summary>A plugin-shaped folder (its <c>&lt;name&gt;.dll</c> need not be a real assembly for the control plane).</summary>
    public static string FakePluginFolder(string root, string name)
    {
        var folder = Path.Combine(root, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, name + ".dll"), "placeholder");
        return folder;
    }

    /// <summary>An agent-release-shaped folder: an <c>InstaDeploy.Agent</c> program that is a shell script.</summary>
    public static string ScriptAgentFolder(string root, string name, string script)
    {
        var folder = Path.Combine(root, name);
        Directory.CreateDirectory(folder);
        var entry = Path.Combine(folder, "InstaDeploy.Agent");
        File.WriteAllText(entry, script);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(entry, (UnixFileMode)0x1ED); // rwxr-xr-x
        return folder;
    }

    /// <summary>POSTs a bundle file with its signature to <paramref name="path"/> (/agent-releases or /plugin-packages).</summary>
    public static async Task<HttpResponseMessage> UploadAsync(this HttpClient api, string path, string bundlePath, string signature)
    {
        using var content = new StreamContent(File.OpenRead(bundlePath));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.TryAddWithoutValidation("X-Bundle-Signature", signature);
        return await api.SendAsync(request);
    }
}
