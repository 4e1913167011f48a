using System.Diagnostics;
using System.Net;
using System.Text;

namespace InstaDeploy.EndToEnd.Tests.Deployment;

/// <summary>
/// The container images as docs/DEPLOYMENT.md runs them: built by eng/docker/build-images.sh on CI's debootstrap base
/// (eng/docker/build-base-image.sh; no registry here), the control plane in one container, the agent in another with
/// the host's Docker socket and its projects folder mounted at the same path, and a deploy through the agent starts a
/// project on the host's engine that answers on the host.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ContainerImageTests
{
    private const string AdminKey = "idk_container-test-admin-key-0123456789";
    private const string AgentToken = "container-test-agent-token-0123456789";

    [Fact]
    public async Task TheAgentInAContainerDeploysAProjectThroughTheHostsEngine()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        var (controlPlaneImage, agentImage) = await BuildImagesAsync();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var (network, controlPlane, agent, project) = ($"instadeploy-test-{suffix}", $"instadeploy-test-cp-{suffix}", $"instadeploy-test-agent-{suffix}", $"image-test-{suffix}");
        var projects = Directory.CreateTempSubdirectory("instadeploy-image-projects-").FullName;
        var (apiPort, appPort) = (FleetFixture.FreePort(), FleetFixture.FreePort());
        try
        {
            await DockerAsync("network", "create", network);
            await DockerAsync("run", "-d", "--name", controlPlane, "--network", network, "-p", $"127.0.0.1:{apiPort}:8000",
                "-e", $"AGENT_SECRET_TOKEN={AgentToken}", "-e", $"INSTADEPLOY_ADMIN_API_KEY={AdminKey}", controlPlaneImage);
            await DockerAsync("run", "-d", "--name", agent, "--network", network, "--hostname", "agent-in-a-container",
                "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", $"{projects}:{projects}", "-e", $"AGENT_PROJECTS_DIR={projects}",
                "-e", $"SERVER_URL=ws://{controlPlane}:8000/ws", "-e", $"AGENT_SECRET_TOKEN={AgentToken}", agentImage);

            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}") };
            api.DefaultRequestHeaders.Authorization = new("Bearer", AdminKey);
            await Eventually.TrueAsync(async () =>
            {
                try { return (await api.GetAsync("/health")).IsSuccessStatusCode; }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromSeconds(60), "the control plane's container to answer");
            await api.WaitForAgentOnlineAsync("agent-in-a-container", TimeSpan.FromSeconds(60));

            // The agent's own health check, from inside its container: the host's engine and compose are there.
            var health = await JobAsync(api, "/agents/agent-in-a-container/health", new { });
            Assert.True(health.GetProperty("status").GetString() == "COMPLETED", health.GetRawText());
            Assert.True(health.GetProperty("result").GetProperty("docker").GetProperty("reachable").GetBoolean());

            var compose = $$"""
                services:
                  web:
                    image: local/busybox:1
                    command: ["busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
                    ports: ["127.0.0.1:{{appPort}}:8080"]
                """;
            var deploy = await JobAsync(api, "/deploy", new { project_name = project, compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(compose)) });
            Assert.True(deploy.GetProperty("status").GetString() == "COMPLETED", deploy.GetRawText());
            Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
            using var app = new HttpClient();
            Assert.Contains("Deployed by InstaDeploy", await app.GetStringAsync($"http://127.0.0.1:{appPort}/"));
            Assert.True(File.Exists(Path.Combine(projects, project, "docker-compose.yml"))); // written where the host sees it

            // The documented backup, from outside the control plane's container.
            var (backupExit, backupOutput) = await DockerCli.RunAsync("exec", controlPlane, "InstaDeploy.ControlPlane", "backup", "--to", "/var/backups/instadeploy");
            Assert.True(backupExit == 0, backupOutput);
            Assert.Contains("integrity ok", backupOutput);

            var stop = await JobAsync(api, "/stop", new { project_name = project });
            Assert.True(stop.GetProperty("status").GetString() == "COMPLETED", stop.GetRawText());
            Assert.Empty(await DockerCli.ContainersOfProjectAsync(project));
        }
        finally
        {
            await DockerCli.RunAsync("rm", "-f", "-v", agent, controlPlane);
            await FleetFixture.RemoveProjectContainersAsync(project);
            await DockerCli.RunAsync("network", "rm", network);
            try { Directory.Delete(projects, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static async Task<System.Text.Json.JsonElement> JobAsync(HttpClient api, string path, object body)
    {
        using var response = await api.PostJsonAsync(path, body);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(2));
    }

    private static async Task DockerAsync(params string[] arguments)
    {
        var (exitCode, output) = await DockerCli.RunAsync(arguments);
        Assert.True(exitCode == 0, $"docker {string.Join(' ', arguments)}: {output}");
    }

    /// <summary>Builds both images from this source on CI's base (bash eng/test.sh makes it), and returns their ids.</summary>
    private static async Task<(string ControlPlane, string Agent)> BuildImagesAsync()
    {
        var root = DockerCli.RepositoryRoot();
        var baseImage = Environment.GetEnvironmentVariable("INSTADEPLOY_IMAGE_BASE") is { Length: > 0 } given ? given : "local/debian-base:12";
        if ((await DockerCli.RunAsync("image", "inspect", baseImage)).ExitCode != 0)
            throw new InvalidOperationException($"The base image {baseImage} is missing: run bash eng/docker/build-base-image.sh (bash eng/test.sh does), or set INSTADEPLOY_IMAGE_BASE to a Debian 12 image you have.");
        var start = new ProcessStartInfo("bash", [Path.Combine(root, "eng", "docker", "build-images.sh"), "--base", baseImage, "--tag", "test"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var build = Process.Start(start)!;
        var output = build.StandardOutput.ReadToEndAsync();
        var error = build.StandardError.ReadToEndAsync();
        await build.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(15));
        Assert.True(build.ExitCode == 0, $"eng/docker/build-images.sh failed:\n{await output}\n{await error}");
        var ids = Path.Combine(root, "artifacts", "docker");
        return ((await File.ReadAllTextAsync(Path.Combine(ids, "control-plane.iid"))).Trim(), (await File.ReadAllTextAsync(Path.Combine(ids, "agent.iid"))).Trim());
    }
}
