using System.Diagnostics;

namespace InstaDeploy.Cli.Tests.Tool;

/// <summary>`dotnet pack` makes the tool package and `dotnet tool install` installs it from that folder alone (no other
/// package source), and the installed `instadeploy` works against the control plane.</summary>
[Collection(CliCollection.Name)]
public sealed class PackagingTests(CliFixture fleet) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("instadeploy-cli-pack-").FullName;

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    [Fact]
    public async Task ThePackedToolInstallsOfflineAndRuns()
    {
        var packages = Path.Combine(_folder, "packages");
        var project = Path.Combine(DockerCli.RepositoryRoot(), "InstaDeploy.Cli", "InstaDeploy.Cli.csproj");
        await DotnetAsync("pack", project, "-c", Configuration, "--no-build", "-o", packages);
        Assert.Single(Directory.GetFiles(packages, "InstaDeploy.Cli.*.nupkg"));

        // Only the folder as a source: the install needs nothing from a registry.
        var config = Path.Combine(_folder, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources><clear /><add key="local" value="{packages}" /></packageSources>
            </configuration>
            """);
        var tools = Path.Combine(_folder, "tools");
        await DotnetAsync("tool", "install", "--tool-path", tools, "--configfile", config, "--add-source", packages, "InstaDeploy.Cli");
        var instadeploy = Path.Combine(tools, "instadeploy");
        Assert.True(File.Exists(instadeploy), "no instadeploy command in " + tools);

        using var user = new CliUser();
        var version = await user.RunProcessAsync(["--version"], program: instadeploy);
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.StartsWith(CliApplication.Version, version.Stdout.Trim());

        Assert.Equal(0, (await user.RunProcessAsync(["context", "add", "local", fleet.Url.ToString()], program: instadeploy)).ExitCode);
        Assert.Equal(0, (await user.RunProcessAsync(["login"], ControlPlaneFactory.AdminApiKey, program: instadeploy)).ExitCode);
        var agents = await user.RunProcessAsync(["agents", "ls", "-q"], program: instadeploy);
        Assert.True(agents.ExitCode == 0, agents.ToString());
        Assert.Equal(CliFixture.AgentId, agents.Stdout.Trim());
    }

    private static async Task DotnetAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)}:\n{await output}\n{await error}");
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
