using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests.Registries;

/// <summary>The control plane, one real agent that never ran docker login, and a real registry with authentication.</summary>
public sealed class RegistryFleet : IAsyncLifetime
{
    public PrivateRegistry Registry { get; } = new();
    public FleetFixture Fleet { get; } = new();

    public async Task InitializeAsync()
    {
        await Registry.InitializeAsync();
        await Fleet.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Fleet.DisposeAsync();
        await Registry.DisposeAsync();
    }
}

/// <summary>
/// Registry logins on the real Docker engine: a deploy of a private image succeeds on an agent that never logged in once
/// the control plane has the login, the login test says what the registry answered, and afterwards the password is
/// nowhere on disk but encrypted in the database: not in the project folder, the agent's state, a temporary docker
/// config, the host's docker config, the logs, the job history or the audit log.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PrivateRegistryTests(RegistryFleet fixture) : IClassFixture<RegistryFleet>
{
    private HttpClient Api => fixture.Fleet.Api;
    private PrivateRegistry Registry => fixture.Registry;

    private string Compose => $$"""
        services:
          web:
            image: {{Registry.Image}}
            command: ["sleep", "600"]
            init: true
        """;

    private async Task<JsonElement> DeployAsync(string project, bool pull = false)
    {
        using var response = await Api.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(Compose)), agent_id = FleetFixture.AgentId, pull, health_wait_seconds = 5 });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await Api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(2));
    }

    private async Task<JsonElement> TestLoginAsync()
    {
        using var response = await Api.PostAsync($"/registries/{Registry.Host}/test?agent_id={FleetFixture.AgentId}", null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.ReadJsonAsync();
    }

    [Fact]
    public async Task APrivateImageDeploysOnAnAgentThatNeverLoggedInAndTheLoginIsLeftNowhereOnDisk()
    {
        var project = E2E.Project("private");
        try
        {
            // Without a login the engine's pull is refused, as on any server that never ran docker login.
            var refused = await DeployAsync(project);
            Assert.Equal("FAILED", refused.GetProperty("status").GetString());

            // A wrong password for this agent: the test says what the registry answered; the agent's login wins over the global one.
            (await Api.PutAsJsonAsync($"/registries/{Registry.Host}", new { username = PrivateRegistry.Username, password = Registry.Password }, InstaDeploy.Testing.Api.Json)).EnsureSuccessStatusCode();
            (await Api.PutAsJsonAsync($"/registries/{Registry.Host}", new { username = PrivateRegistry.Username, password = "wrong-" + Registry.Password[4..], agent_id = FleetFixture.AgentId }, InstaDeploy.Testing.Api.Json)).EnsureSuccessStatusCode();
            var wrong = await TestLoginAsync();
            Assert.False(wrong.GetProperty("logged_in").GetBoolean());
            Assert.Contains("unauthorized", wrong.GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
            Assert.Equal(HttpStatusCode.NoContent, (await Api.DeleteAsync($"/registries/{Registry.Host}?agent_id={FleetFixture.AgentId}")).StatusCode);
            var right = await TestLoginAsync();
            Assert.True(right.GetProperty("logged_in").GetBoolean(), right.GetRawText());
            Assert.Contains("Login Succeeded", right.GetProperty("message").GetString());

            var listed = await Api.GetStringAsync("/registries");
            Assert.Contains(PrivateRegistry.Username, listed);
            Assert.DoesNotContain(Registry.Password, listed);

            var deployed = await DeployAsync(project);
            Assert.True(deployed.GetProperty("status").GetString() == "COMPLETED", deployed.GetRawText());
            Assert.Single(await DockerCli.ContainersOfProjectAsync(project, runningOnly: true));
            // Pull first (a new image behind the same tag), with the same login.
            var pulled = await DeployAsync(project, pull: true);
            Assert.True(pulled.GetProperty("status").GetString() == "COMPLETED", pulled.GetRawText());

            await AssertTheLoginIsNowhereAsync(Registry.Password);
        }
        finally
        {
            using var stop = await Api.PostJsonAsync("/stop", new { project_name = project });
            if (stop.StatusCode == HttpStatusCode.Accepted) await Api.WaitForJobAsync((await stop.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(1));
            await FleetFixture.RemoveProjectContainersAsync(project);
            await PrivateRegistry.RunAsync("docker", null, ["rmi", "-f", Registry.Image]);
        }
    }

    private async Task AssertTheLoginIsNowhereAsync(string password)
    {
        var base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{PrivateRegistry.Username}:{password}"));
        foreach (var secret in new[] { password, base64 })
        {
            // Files: the agent's projects (compose file, .env, history) and state, the control plane's data folder.
            foreach (var folder in new[] { fixture.Fleet.Agent.ProjectsDirectory, fixture.Fleet.Agent.StateDirectory, fixture.Fleet.ControlPlane.DataDirectory })
                AssertNotInTree(folder, secret);
            // The host's own docker config is never written.
            var hostConfig = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker", "config.json");
            if (File.Exists(hostConfig)) Assert.DoesNotContain(Registry.Host, await File.ReadAllTextAsync(hostConfig));
            // What the API shows: every job's output and result, the revisions, the audit log.
            foreach (var job in (await Api.GetJsonAsync($"/jobs?agent_id={FleetFixture.AgentId}&limit=100")).EnumerateArray())
                Assert.DoesNotContain(secret, (await Api.GetJsonAsync($"/jobs/{job.GetProperty("job_id").GetString()}")).GetRawText());
            Assert.DoesNotContain(secret, await Api.GetStringAsync("/audit/export?format=json"));
            // The logs of both.
            Assert.DoesNotContain(fixture.Fleet.ControlPlane.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(fixture.Fleet.Agent.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
        // The job's private DOCKER_CONFIG folders are gone.
        Assert.Empty(Directory.GetDirectories(Path.GetTempPath(), "instadeploy-docker-*"));
    }

    /// <summary>No file under <paramref name="folder"/> holds <paramref name="secret"/> in clear (the database holds it
    /// encrypted, as a Data Protection payload).</summary>
    private static void AssertNotInTree(string folder, string secret)
    {
        var needle = Encoding.UTF8.GetBytes(secret);
        var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            byte[] content;
            try
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                content = copy.ToArray();
            }
            catch (IOException)
            {
                continue; // gone while scanned
            }
            Assert.False(content.AsSpan().IndexOf(needle) >= 0, $"{file} holds the registry login in clear");
        }
    }
}
