using InstaDeploy.Contracts.Bundles;

namespace InstaDeploy.EndToEnd.Tests.Distribution;

/// <summary>The operator's tool: a key pair, a packed and signed bundle that verifies, and every change to the file or the
/// wrong key refused.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BundleToolTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("instadeploy-bundle-tool-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private string At(string name) => Path.Combine(_root, name);

    private async Task<string> PluginFolderAsync()
    {
        var folder = At("plugin");
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        await File.WriteAllTextAsync(Path.Combine(folder, "My.Plugin.dll"), "not really IL, but the tool does not care");
        await File.WriteAllTextAsync(Path.Combine(folder, "data", "settings.json"), "{}");
        return folder;
    }

    [Fact]
    public async Task ASignedBundleVerifiesAndAnyChangedByteOrOtherKeyIsRefused()
    {
        Assert.Equal(0, (await BundleTool.RunAsync("keygen", "--private-key", At("release.key"), "--public-key", At("release.pub"))).ExitCode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(At("release.key")));
        Assert.Contains("BEGIN PUBLIC KEY", await File.ReadAllTextAsync(At("release.pub")));
        Assert.DoesNotContain("PRIVATE", await File.ReadAllTextAsync(At("release.pub")));
        var again = await BundleTool.RunAsync("keygen", "--private-key", At("release.key"), "--public-key", At("other.pub"));
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("not overwritten", again.Output);

        var folder = await PluginFolderAsync();
        var bundle = At("my-plugin.tar.gz");
        var packed = await BundleTool.RunAsync("pack", "--from", folder, "--out", bundle, "--kind", "plugin", "--name", "My.Plugin", "--version", "1.2.0");
        Assert.True(packed.ExitCode == 0, packed.Output);
        Assert.Equal(0, (await BundleTool.RunAsync("sign", "--private-key", At("release.key"), bundle)).ExitCode);
        var good = await BundleTool.RunAsync("verify", "--public-key", At("release.pub"), bundle);
        Assert.True(good.ExitCode == 0, good.Output);
        Assert.Contains("signature good", good.Output);

        var manifest = await BundleTool.RunAsync("manifest", bundle);
        Assert.Contains("\"name\":\"My.Plugin\"", manifest.Output);
        Assert.Contains("\"version\":\"1.2.0\"", manifest.Output);

        // One flipped byte anywhere (here in the middle of the compressed data) and it no longer verifies.
        var tampered = At("tampered.tar.gz");
        var bytes = await File.ReadAllBytesAsync(bundle);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(tampered, bytes);
        var refused = await BundleTool.RunAsync("verify", "--public-key", At("release.pub"), tampered, "--signature", bundle + ".sig");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("does not verify", refused.Output);

        // Signed by someone else: refused with the operator's key.
        Assert.Equal(0, (await BundleTool.RunAsync("keygen", "--private-key", At("stranger.key"), "--public-key", At("stranger.pub"))).ExitCode);
        Assert.Equal(1, (await BundleTool.RunAsync("verify", "--public-key", At("stranger.pub"), bundle)).ExitCode);

        // The library the control plane and the agent use agrees with the tool.
        var keys = BundleSignature.LoadPublicKeys(At("release.pub"));
        await using (var file = File.OpenRead(bundle))
            Assert.True(BundleSignature.Verify(keys, BundleSignature.Hash(file), await File.ReadAllBytesAsync(bundle + ".sig")));
        await using (var file = File.OpenRead(tampered))
            Assert.False(BundleSignature.Verify(keys, BundleSignature.Hash(file), await File.ReadAllBytesAsync(bundle + ".sig")));
    }

    [Fact]
    public async Task PackingRefusesAFolderThatIsNotWhatTheManifestSays()
    {
        var folder = await PluginFolderAsync();
        var wrongName = await BundleTool.RunAsync("pack", "--from", folder, "--out", At("x.tar.gz"), "--kind", "plugin", "--name", "Other", "--version", "1.0.0");
        Assert.Equal(2, wrongName.ExitCode);
        Assert.Contains("has no Other.dll", wrongName.Output);
        var badArchitecture = await BundleTool.RunAsync("pack", "--from", folder, "--out", At("x.tar.gz"), "--kind", "agent", "--version", "1.0.0", "--architecture", "linux-riscv");
        Assert.Equal(2, badArchitecture.ExitCode);
        Assert.Contains("architecture 'linux-riscv'", badArchitecture.Output);
        var badVersion = await BundleTool.RunAsync("pack", "--from", folder, "--out", At("x.tar.gz"), "--kind", "plugin", "--name", "My.Plugin", "--version", "../1");
        Assert.Equal(2, badVersion.ExitCode);
        Assert.False(File.Exists(At("x.tar.gz")));
    }

    [Fact]
    public async Task UnpackingRefusesAnEntryThatLeavesTheFolder()
    {
        // A hand-made hostile archive: a valid manifest first, then a path with "..".
        var hostile = At("hostile.tar.gz");
        await using (var file = File.Create(hostile))
        await using (var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest))
        await using (var tar = new System.Formats.Tar.TarWriter(gzip))
        {
            var manifest = new BundleManifest { Kind = "plugin", Name = "Evil", Version = "1.0.0", Architecture = "any" };
            await tar.WriteEntryAsync(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, BundleManifest.FileName) { DataStream = new MemoryStream(manifest.ToJson()) });
            await tar.WriteEntryAsync(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "../escaped.txt") { DataStream = new MemoryStream([1, 2, 3]) });
        }
        await using var read = File.OpenRead(hostile);
        var error = await Assert.ThrowsAsync<BundleException>(() => BundleArchive.ExtractAsync(read, At("out"), 1024 * 1024));
        Assert.Contains("not a plain relative path", error.Message);
        Assert.False(File.Exists(At("escaped.txt")));
    }
}
