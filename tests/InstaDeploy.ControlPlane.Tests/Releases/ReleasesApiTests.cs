using System.Net;
using System.Security.Cryptography;
using InstaDeploy.Contracts.Bundles;

namespace InstaDeploy.ControlPlane.Tests.Releases;

/// <summary>Agent releases over REST: a signed upload is kept (owner-only) and listed, anything else is refused with a
/// reason and keeps nothing, agents download with their own credentials, and a delete removes the file.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ReleasesApiTests : IAsyncLifetime
{
    private readonly TestReleaseKey _key = new();
    private readonly TestReleaseKey _stranger = new();
    private readonly string _work = Directory.CreateTempSubdirectory("instadeploy-releases-").FullName;
    private ControlPlaneFactory _controlPlane = null!;
    private HttpClient _api = null!;

    public Task InitializeAsync()
    {
        _controlPlane = new ControlPlaneFactory(new Dictionary<string, string?>
        {
            ["INSTADEPLOY_RELEASE_PUBLIC_KEYS"] = _key.PublicPem,
            ["INSTADEPLOY_MAX_BUNDLE_MB"] = "1",
        });
        _api = _controlPlane.CreateApiClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _controlPlane.DisposeAsync();
        _key.Dispose();
        _stranger.Dispose();
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }

    private async Task<(string Path, string Signature)> AgentBundleAsync(string version, string architecture, TestReleaseKey? key = null)
    {
        var folder = TestBundles.ScriptAgentFolder(_work, $"agent-{version}-{architecture}", "#!/bin/sh\nexit 0\n");
        var path = Path.Combine(_work, $"agent-{version}-{architecture}.tar.gz");
        var signature = await (key ?? _key).PackAndSignAsync(folder, new BundleManifest { Kind = "agent", Name = "InstaDeploy.Agent", Version = version, Architecture = architecture, Entry = "InstaDeploy.Agent" }, path);
        return (path, signature);
    }

    private static async Task<string> DetailAsync(HttpResponseMessage response) => (await response.ReadJsonAsync()).GetProperty("detail").GetString()!;

    [Fact]
    public async Task ASignedReleaseIsKeptListedDownloadedByAgentsAndDeleted()
    {
        var (path, signature) = await AgentBundleAsync("2.0.0", "linux-amd64");
        using (var created = await _api.UploadAsync("/agent-releases", path, signature))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var body = await created.ReadJsonAsync();
            Assert.Equal("2.0.0", body.GetProperty("version").GetString());
            Assert.Equal("linux-amd64", body.GetProperty("architecture").GetString());
            Assert.Equal(_key.Fingerprint, body.GetProperty("key_fingerprint").GetString());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path))), body.GetProperty("sha256").GetString());
            Assert.Equal("/agent-releases/2.0.0", created.Headers.Location?.ToString());
        }
        var kept = Assert.Single(Directory.GetFiles(Path.Combine(_controlPlane.DataDirectory, "bundles")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(kept));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(_controlPlane.DataDirectory, "bundles")));
        Assert.Equal("2.0.0", Assert.Single((await _api.GetJsonAsync("/agent-releases")).EnumerateArray()).GetProperty("version").GetString());

        using (var again = await _api.UploadAsync("/agent-releases", path, signature))
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        // An agent downloads it with the credentials it connects with; nobody else does.
        using var anonymous = _controlPlane.CreateApiClient(apiKey: null);
        using (var refused = await anonymous.GetAsync("/agents/releases/2.0.0/bundle?architecture=linux-amd64"))
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using (var withApiKey = await _api.GetAsync("/agents/releases/2.0.0/bundle?architecture=linux-amd64"))
            Assert.Equal(HttpStatusCode.Unauthorized, withApiKey.StatusCode);
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/agents/releases/2.0.0/bundle?architecture=linux-amd64"))
        {
            request.Headers.Authorization = new("Bearer", _controlPlane.AgentToken);
            request.Headers.Add("X-Agent-Hostname", "web-1");
            using var download = await anonymous.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal(await File.ReadAllBytesAsync(path), await download.Content.ReadAsByteArrayAsync());
        }

        var audit = await _api.GetJsonAsync("/audit?action=agent_release.upload");
        Assert.Contains(audit.GetProperty("entries").EnumerateArray(), e => e.GetProperty("outcome").GetString() == "succeeded" && e.GetProperty("target").GetString() == "agent_release:2.0.0/linux-amd64");

        using (var deleted = await _api.DeleteAsync("/agent-releases/2.0.0"))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(_controlPlane.DataDirectory, "bundles")));
        using (var gone = await _api.GetAsync("/agent-releases/2.0.0"))
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task AnUploadThatIsNotSignedByTheOperatorOrNotAReleaseIsRefusedAndNothingIsKept()
    {
        var (path, signature) = await AgentBundleAsync("2.1.0", "linux-amd64");
        var (strangers, strangersSignature) = await AgentBundleAsync("2.1.1", "linux-amd64", _stranger);

        using (var unsigned = await _api.UploadAsync("/agent-releases", path, ""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, unsigned.StatusCode);
            Assert.Contains("X-Bundle-Signature", await DetailAsync(unsigned));
        }
        using (var foreign = await _api.UploadAsync("/agent-releases", strangers, strangersSignature))
        {
            Assert.Equal(HttpStatusCode.BadRequest, foreign.StatusCode);
            Assert.Contains("INSTADEPLOY_RELEASE_PUBLIC_KEYS", await DetailAsync(foreign));
        }
        // The right signature of another file: one changed byte is enough.
        var tampered = Path.Combine(_work, "tampered.tar.gz");
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[^5] ^= 0x40;
        await File.WriteAllBytesAsync(tampered, bytes);
        using (var changed = await _api.UploadAsync("/agent-releases", tampered, signature))
            Assert.Equal(HttpStatusCode.BadRequest, changed.StatusCode);

        // Signed, but a plugin package sent as a release.
        var plugin = Path.Combine(_work, "plugin.tar.gz");
        var pluginSignature = await _key.PackAndSignAsync(TestBundles.FakePluginFolder(_work, "My.Plugin"), new BundleManifest { Kind = "plugin", Name = "My.Plugin", Version = "1.0.0", Architecture = "any" }, plugin);
        using (var wrongKind = await _api.UploadAsync("/agent-releases", plugin, pluginSignature))
        {
            Assert.Equal(HttpStatusCode.BadRequest, wrongKind.StatusCode);
            Assert.Contains("/plugin-packages", await DetailAsync(wrongKind));
        }

        // Over INSTADEPLOY_MAX_BUNDLE_MB (1 MiB here): refused while it streams.
        var large = Path.Combine(_work, "large.bin");
        await File.WriteAllBytesAsync(large, RandomNumberGenerator.GetBytes(1024 * 1024 + 10));
        using (var tooLarge = await _api.UploadAsync("/agent-releases", large, _key.Sign(large)))
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);

        // Only admins upload.
        var readKey = (await (await _api.PostJsonAsync("/api-keys", new { name = "reader", scopes = new[] { "read" } })).ReadJsonAsync()).GetProperty("key").GetString();
        using var reader = _controlPlane.CreateApiClient(readKey);
        using (var forbidden = await reader.UploadAsync("/agent-releases", path, signature))
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);

        Assert.Empty((await _api.GetJsonAsync("/agent-releases")).EnumerateArray());
        Assert.Empty(Directory.GetFiles(Path.Combine(_controlPlane.DataDirectory, "bundles")));
        var refusals = (await _api.GetJsonAsync("/audit?action=agent_release.upload")).GetProperty("entries").EnumerateArray().ToList();
        Assert.True(refusals.Count(e => e.GetProperty("outcome").GetString() == "refused") >= 5, string.Join("\n", refusals));
    }

    [Fact]
    public async Task WithoutAReleaseKeyNothingCanBeUploaded()
    {
        await using var bare = new ControlPlaneFactory();
        using var api = bare.CreateApiClient();
        var (path, signature) = await AgentBundleAsync("3.0.0", "linux-amd64");
        using var refused = await api.UploadAsync("/agent-releases", path, signature);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("INSTADEPLOY_RELEASE_PUBLIC_KEYS", await DetailAsync(refused));
    }
}
