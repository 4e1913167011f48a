using System.Net;
using System.Text;

namespace InstaDeploy.ControlPlane.Tests.Api;

/// <summary>Bad input gets a problem-details answer a user can act on, and nothing is created or sent.</summary>
public sealed class RestApiValidationTests : IAsyncLifetime
{
    private static readonly string ValidCompose = Convert.ToBase64String("services:\n  web:\n    image: local/busybox:1\n"u8.ToArray());

    private readonly ControlPlaneFactory _controlPlane = new(new Dictionary<string, string?> { ["INSTADEPLOY_MAX_COMPOSE_BYTES"] = "4096" });
    private HttpClient _api = null!;
    private SeedAgent _agent = null!;

    public async Task InitializeAsync()
    {
        _api = _controlPlane.CreateApiClient();
        _agent = new SeedAgent((_, _, _) => ("COMPLETED", "ok", ""));
        await _agent.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, "vps-1");
        await _api.WaitForAgentOnlineAsync("vps-1");
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _api.Dispose();
        await _controlPlane.DisposeAsync();
    }

    [Theory]
    [InlineData("../etc", "not a valid project name")]
    [InlineData("/abs", "not a valid project name")]
    [InlineData("a b", "not a valid project name")]
    [InlineData("app\n", "not a valid project name")]
    [InlineData("%2e%2e", "not a valid project name")]
    [InlineData("", "project_name: is required")]
    public async Task DeployRefusesABadProjectNameAndSendsNothing(string name, string expected)
    {
        using var response = await _api.PostJsonAsync("/deploy", new { project_name = name, compose_file_base64 = ValidCompose });
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, expected);
        await AssertNothingSentAsync();
    }

    [Theory]
    [InlineData("not base64!!", "not valid base64")]
    [InlineData("aGVsbG8=", "top level must be a mapping")]
    [InlineData("dmVyc2lvbjogJzMuOCcK", "no 'services' key")]
    [InlineData("", "is required")]
    [InlineData("//79", "UTF-8")]
    public async Task DeployRefusesABadComposeFileAndSendsNothing(string composeBase64, string expected)
    {
        using var response = await _api.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = composeBase64 });
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, expected);
        await AssertNothingSentAsync();
    }

    [Fact]
    public async Task DeployRefusesAComposeFileOverTheSizeLimitWith413()
    {
        var big = "services:\n  web:\n    image: local/busybox:1\n# " + new string('x', 5000) + "\n";
        using var response = await _api.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(big)) });
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "INSTADEPLOY_MAX_COMPOSE_BYTES");
        await AssertNothingSentAsync();
    }

    [Fact]
    public async Task ARequestBodyOverTheLimitIsRefusedWith413()
    {
        var body = "{\"project_name\":\"app\",\"compose_file_base64\":\"" + new string('A', 200_000) + "\"}";
        using var response = await _api.PostAsync("/deploy", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertNothingSentAsync();
    }

    [Theory]
    [InlineData("{\"project_name\":")]
    [InlineData("{\"project_name\": 5, \"compose_file_base64\": \"x\"}")]
    [InlineData("[1,2]")]
    public async Task MalformedJsonGetsAProblemSayingWhatIsWrong(string body)
    {
        using var response = await _api.PostAsync("/deploy", new StringContent(body, Encoding.UTF8, "application/json"));
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "not valid JSON");
        await AssertNothingSentAsync();
    }

    [Fact]
    public async Task AnUnknownAgentIs404AndNamesTheListEndpoint()
    {
        using var response = await _api.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = ValidCompose, agent_id = "nope" });
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "GET /agents");
    }

    [Theory]
    [InlineData("/deploy")]
    [InlineData("/stop")]
    [InlineData("/status")]
    [InlineData("/agents/vps-1/commands")]
    public async Task ATimeoutOrQueueExpiryOutOfRangeIsRefusedByEveryCommand(string path)
    {
        foreach (var (field, value) in new[] { ("timeout_seconds", 0), ("timeout_seconds", 86_401), ("queue_ttl_seconds", 0) })
        {
            var body = new Dictionary<string, object> { ["project_name"] = "app", ["compose_file_base64"] = ValidCompose, ["type"] = "RESTART_COMPOSE", [field] = value };
            using var response = await _api.PostJsonAsync(path, body);
            await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
        }
        await AssertNothingSentAsync();
    }

    [Theory]
    [InlineData("/jobs/job-does-not-exist")]
    [InlineData("/jobs/job-does-not-exist/logs")]
    [InlineData("/jobs/job-does-not-exist/logs?follow=true")]
    [InlineData("/agents/nope")]
    [InlineData("/deployments/never-deployed")]
    public async Task UnknownResourcesAre404Problems(string path)
    {
        using var response = await _api.GetAsync(path);
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "");
    }

    [Fact]
    public async Task AnUnknownJobStatusFilterIsRefused()
    {
        using var response = await _api.GetAsync("/jobs?status=DONE");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "COMPLETED");
    }

    [Fact]
    public async Task HealthEndpointsAndTheApiReferenceAreServed()
    {
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync("/alive")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync("/scalar/v1")).StatusCode);

        var document = await _api.GetJsonAsync("/openapi/v1.json");
        var paths = document.GetProperty("paths");
        foreach (var (path, method) in new[]
                 {
                     ("/agents", "get"), ("/agents/{agentId}", "get"), ("/agents/{agentId}/health", "post"), ("/deploy", "post"),
                     ("/stop", "post"), ("/status", "post"), ("/jobs", "get"), ("/jobs/{jobId}", "get"),
                     ("/deployments", "get"), ("/deployments/{projectName}", "get"),
                 })
        {
            var operation = paths.GetProperty(path).GetProperty(method);
            Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("summary").GetString()), $"{method} {path} has no summary");
            Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("description").GetString()), $"{method} {path} has no description");
            var success = operation.GetProperty("responses").EnumerateObject().First(r => r.Name is "200" or "202");
            Assert.True(success.Value.GetProperty("content").GetProperty("application/json").TryGetProperty("example", out _), $"{method} {path} has no example answer");
        }
        var deployExample = paths.GetProperty("/deploy").GetProperty("post").GetProperty("requestBody")
            .GetProperty("content").GetProperty("application/json").GetProperty("example");
        Assert.Equal("test-app", deployExample.GetProperty("project_name").GetString());
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detailContains)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Contains(detailContains, problem.GetProperty("detail").GetString());
    }

    private async Task AssertNothingSentAsync()
    {
        var jobs = await _api.GetJsonAsync("/jobs");
        Assert.Equal(0, jobs.GetArrayLength());
        Assert.Empty(_agent.ReceivedCommands);
        Assert.Equal(0, (await _api.GetJsonAsync("/deployments")).GetArrayLength());
    }
}
