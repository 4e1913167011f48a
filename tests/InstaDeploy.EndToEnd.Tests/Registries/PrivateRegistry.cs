using System.Diagnostics;

namespace InstaDeploy.EndToEnd.Tests.Registries;

/// <summary>
/// A real image registry (Debian's docker-registry, the distribution registry) on a free loopback port, with htpasswd
/// authentication, its own storage folder, and a locally built image pushed to it; stopped, its folder and the tags
/// removed afterwards. The engine talks plain HTTP to 127.0.0.1 without extra settings.
/// </summary>
public sealed class PrivateRegistry : IAsyncLifetime
{
    public const string Username = "daytwo-deployer";

    private readonly string _folder = Directory.CreateTempSubdirectory("daytwo-registry-").FullName;
    private Process? _process;

    /// <summary>A password made for this run only, so finding it anywhere means it leaked from this run.</summary>
    public string Password { get; } = "reg-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

    public int Port { get; } = FleetFixture.FreePort();

    public string Host => $"127.0.0.1:{Port}";

    /// <summary>The private image: local/busybox:1 pushed as 127.0.0.1:PORT/daytwo/private:RUN, and not on the engine.</summary>
    public string Image => $"{Host}/daytwo/private:{E2E.Run}";

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        var (htpasswdExit, htpasswd) = await RunAsync("htpasswd", null, ["-Bbn", Username, Password]);
        if (htpasswdExit != 0) throw new InvalidOperationException($"htpasswd failed (bash eng/setup-registry.sh installs it): {htpasswd}");
        await File.WriteAllTextAsync(Path.Combine(_folder, "htpasswd"), htpasswd.Trim() + "\n");
        Directory.CreateDirectory(Path.Combine(_folder, "storage"));
        await File.WriteAllTextAsync(Path.Combine(_folder, "config.yml"), $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {Path.Combine(_folder, "storage")}
            http:
              addr: 127.0.0.1:{Port}
            auth:
              htpasswd:
                realm: daytwo
                path: {Path.Combine(_folder, "htpasswd")}
            """);
        var start = new ProcessStartInfo("docker-registry") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("serve");
        start.ArgumentList.Add(Path.Combine(_folder, "config.yml"));
        _process = Process.Start(start) ?? throw new InvalidOperationException("docker-registry did not start (bash eng/setup-registry.sh installs it)");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var http = new HttpClient();
        await Eventually.TrueAsync(async () =>
        {
            try { return (await http.GetAsync($"http://{Host}/v2/")).StatusCode == System.Net.HttpStatusCode.Unauthorized; }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(20), "the registry to answer");

        // Pushed under a docker config of the test's own, removed afterwards; then the tag goes, so only a pull brings it back.
        var config = Directory.CreateTempSubdirectory("daytwo-pusher-").FullName;
        try
        {
            var environment = new Dictionary<string, string> { ["DOCKER_CONFIG"] = config };
            await MustAsync(RunAsync("docker", environment, ["login", "--username", Username, "--password-stdin", Host], Password), "docker login");
            await MustAsync(RunAsync("docker", environment, ["tag", DockerCli.ExampleImage, Image]), "docker tag");
            await MustAsync(RunAsync("docker", environment, ["push", Image]), "docker push");
            await MustAsync(RunAsync("docker", environment, ["rmi", Image]), "docker rmi");
        }
        finally
        {
            Directory.Delete(config, recursive: true);
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false }) _process.Kill(entireProcessTree: true);
        _process?.Dispose();
        await RunAsync("docker", null, ["rmi", "-f", Image]);
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    private static async Task MustAsync(Task<(int, string)> run, string what)
    {
        var (code, output) = await run;
        if (code != 0) throw new InvalidOperationException($"{what} failed: {output}");
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string program, IDictionary<string, string>? environment, string[] arguments, string? input = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        if (input is not null) await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
