using System.Diagnostics;

namespace InstaDeploy.Testing;

/// <summary>The docker command line, for tests that check what really runs on the engine.</summary>
public static class DockerCli
{
    public const string ExampleImage = "local/busybox:1";

    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, (await stdout) + (await stderr));
    }

    /// <summary>Names of the containers of a compose project (running or not).</summary>
    public static async Task<string[]> ContainersOfProjectAsync(string composeProject, bool runningOnly = false)
    {
        var arguments = new List<string> { "ps", "--format", "{{.Names}}", "--filter", $"label=com.docker.compose.project={composeProject}" };
        if (!runningOnly) arguments.Insert(1, "-a");
        var (exitCode, output) = await RunAsync([.. arguments]);
        if (exitCode != 0) throw new InvalidOperationException($"docker ps failed: {output}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>Fails with a message saying how to get an engine when none answers; builds the example image when missing.</summary>
    public static async Task EnsureEngineAndExampleImageAsync()
    {
        var (info, infoOutput) = await RunAsync("info", "--format", "{{.ServerVersion}}");
        if (info != 0)
            throw new InvalidOperationException(
                "These tests deploy to a real Docker engine and none answers `docker info`. Start one (sudo dockerd &), or run bash .ci/run, which installs and starts it. " + infoOutput);
        var (inspect, _) = await RunAsync("image", "inspect", ExampleImage);
        if (inspect == 0) return;

        var script = Path.Combine(RepositoryRoot(), "examples", "build-example-image.sh");
        var build = Process.Start(new ProcessStartInfo("bash", [script]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var error = await build.StandardError.ReadToEndAsync();
        await build.WaitForExitAsync();
        if (build.ExitCode != 0) throw new InvalidOperationException($"{script} failed: {error}");
    }

    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "InstaDeploy.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("InstaDeploy.sln not found above " + AppContext.BaseDirectory);
    }
}
