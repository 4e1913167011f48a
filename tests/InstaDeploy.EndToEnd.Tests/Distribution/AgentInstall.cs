using InstaDeploy.Contracts.Bundles;

namespace InstaDeploy.EndToEnd.Tests.Distribution;

/// <summary>
/// Agent bundles made from this build (the agent's own build output, framework-dependent, with its built-in plugins):
/// versions A and B are the same program with different version metadata, as CI would make two releases. And agents
/// installed from them as an operator installs one: unpacked into &lt;home&gt;/versions/&lt;version&gt;/, started
/// through its launcher.
/// </summary>
internal sealed class AgentInstall : IDisposable
{
    public TestReleaseKey Operator { get; } = new();
    public TestReleaseKey Stranger { get; } = new();
    public string Work { get; } = Directory.CreateTempSubdirectory("instadeploy-agent-update-").FullName;
    public string Build { get; }

    public AgentInstall()
    {
        // The agent's build output, without the runtime-specific folders a publish leaves beside it.
        var output = Path.Combine(DockerCli.RepositoryRoot(), "InstaDeploy.Agent", "bin", "Release", "net10.0");
        Build = Path.Combine(Work, "agent-build");
        Copy(output, Build, top: true);
    }

    private static void Copy(string from, string to, bool top)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var folder in Directory.GetDirectories(from))
            if (!(top && Path.GetFileName(folder).StartsWith("linux-", StringComparison.Ordinal))) Copy(folder, Path.Combine(to, Path.GetFileName(folder)), top: false);
    }

    /// <summary>A bundle of <paramref name="folder"/> (default: this build) as <paramref name="version"/>; its path and signature.</summary>
    public async Task<(string Path, string Signature)> BundleAsync(string version, string architecture = "linux-amd64", string? folder = null, TestReleaseKey? key = null)
    {
        var path = System.IO.Path.Combine(Work, $"agent-{version}-{architecture}.tar.gz");
        var signature = await (key ?? Operator).PackAndSignAsync(folder ?? Build,
            new BundleManifest { Kind = "agent", Name = "InstaDeploy.Agent", Version = version, Architecture = architecture, Entry = "InstaDeploy.Agent" }, path);
        return (path, signature);
    }

    /// <summary>Installs version <paramref name="version"/> of this build into a new home and starts its launcher.</summary>
    public async Task<(ServiceProcess Launcher, string Home)> InstallAndLaunchAsync(ProcessFleet fleet, string hostname, string version, Dictionary<string, string>? settings = null)
    {
        var home = System.IO.Path.Combine(Work, hostname + "-home");
        var (bundle, _) = await BundleAsync(version);
        var folder = System.IO.Path.Combine(home, "versions", version);
        BundleManifest manifest;
        await using (var file = File.OpenRead(bundle)) manifest = await BundleArchive.ExtractAsync(file, folder, 1L << 32);
        await File.WriteAllBytesAsync(System.IO.Path.Combine(folder, BundleManifest.FileName), manifest.ToJson());
        var environment = new Dictionary<string, string> { ["AGENT_UPDATE_PUBLIC_KEY"] = Operator.PublicPem };
        foreach (var (key, value) in settings ?? []) environment[key] = value;
        return (fleet.StartAgentProgram(hostname, System.IO.Path.Combine(folder, "InstaDeploy.Agent"), ["launch"], environment), home);
    }

    public void Dispose()
    {
        Operator.Dispose();
        Stranger.Dispose();
        try { Directory.Delete(Work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
