using System.Net;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests.Reliability;

/// <summary>One control plane process shared by a class's tests; each test starts (and ends) agents of its own, under
/// ids of its own, so they do not see each other's jobs.</summary>
public sealed class ProcessFleetFixture : IAsyncLifetime
{
    public ProcessFleet Fleet { get; } = new();

    public ServiceProcess ControlPlane { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        ControlPlane = await Fleet.StartControlPlaneAsync();
        Api = Fleet.CreateApiClient();
    }

    public async Task DisposeAsync()
    {
        Api.Dispose();
        await Fleet.DisposeAsync();
    }
}

/// <summary>What the reliability tests send and read.</summary>
internal static class ReliabilityApi
{
    public static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>A deploy that is quick, with no network of its own: the engine's address pools hold only ~30 networks,
    /// shared with every suite running beside these.</summary>
    public static string QuickCompose(string command = "sleep 86400") =>
        $"services:\n  web:\n    image: local/busybox:1\n    command: [\"sh\", \"-c\", \"{command}\"]\n    init: true\n    network_mode: none\n";

    /// <summary>Deploys; returns the job id (the request must be accepted).</summary>
    public static async Task<string> DeployAsync(this HttpClient api, string project, string agentId, string compose, object? extra = null)
    {
        var body = new Dictionary<string, object?> { ["project_name"] = project, ["agent_id"] = agentId, ["compose_file_base64"] = Base64(compose) };
        if (extra is not null)
            foreach (var property in JsonSerializer.SerializeToElement(extra, Api.Json).EnumerateObject()) body[property.Name] = property.Value;
        using var response = await api.PostJsonAsync("/deploy", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"deploy {project}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("job_id").GetString()!;
    }

    public static async Task<string> StatusOfJobAsync(this HttpClient api, string jobId) =>
        (await api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString()!;

    public static Task WaitForJobStatusAsync(this HttpClient api, string jobId, string status, TimeSpan timeout) =>
        Eventually.TrueAsync(async () => await api.StatusOfJobAsync(jobId) == status, timeout, $"job {jobId} to be {status}");

    public static async Task<JsonElement> PlacementAsync(this HttpClient api, string project, string agentId) =>
        (await api.GetJsonAsync($"/deployments/{project}")).GetProperty("placements").EnumerateArray()
            .Single(p => p.GetProperty("agent_id").GetString() == agentId);

    /// <summary>How often the agent process started the job (its own log).</summary>
    public static int TimesRun(this ServiceProcess agent, string jobId) => agent.Lines.Count(l => l.Contains($"Job {jobId}: running ", StringComparison.Ordinal));

    /// <summary>The revision labels of the project's containers, as the engine shows them (one <c>docker ps</c>, so a
    /// container replaced meanwhile is never asked about by a name that is gone).</summary>
    public static async Task<string[]> RevisionLabelsAsync(string project)
    {
        var (exitCode, output) = await DockerCli.RunAsync("ps", "-a", "--filter", $"label=com.docker.compose.project={project}",
            "--format", "{{.Label \"io.instadeploy.revision\"}}");
        Assert.True(exitCode == 0, output);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
