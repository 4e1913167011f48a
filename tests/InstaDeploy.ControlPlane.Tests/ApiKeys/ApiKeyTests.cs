using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Time.Testing;

namespace InstaDeploy.ControlPlane.Tests.ApiKeys;

public sealed class ApiKeyTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private ControlPlaneFactory _controlPlane = null!;
    private HttpClient _admin = null!;

    public Task InitializeAsync()
    {
        // Every endpoint is called five times without a valid key: more than the unauthenticated throttle lets through.
        _controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_UNAUTHENTICATED_RATE_PER_IP"] = "1000" }, time: _clock);
        _admin = _controlPlane.CreateApiClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _controlPlane.DisposeAsync();
    }

    private async Task<(string Id, string Key)> CreateKeyAsync(string name, string[] scopes, DateTimeOffset? expiresAt = null)
    {
        using var response = await _admin.PostJsonAsync("/api-keys", new { name, scopes, expires_at = expiresAt });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.ReadJsonAsync();
        return (created.GetProperty("id").GetString()!, created.GetProperty("key").GetString()!);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detail)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(detail, (await response.ReadJsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task EveryEndpointButHealthAndTheApiReferenceRefusesCallsWithoutAValidKey()
    {
        using var anonymous = _controlPlane.CreateApiClient(apiKey: null);
        var document = await anonymous.GetJsonAsync("/openapi/v1.json");
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(method => (Path: path.Name, Method: method.Name.ToUpperInvariant())))
            .ToList();
        Assert.True(operations.Count >= 13, $"only {operations.Count} operations found");

        foreach (var (path, method) in operations)
        {
            var url = System.Text.RegularExpressions.Regex.Replace(path, "{[^}]+}", "1"); // "1" fits every route parameter, the int ones too
            foreach (var key in new[] { null, "", "idk_not-a-real-key", ControlPlaneFactory.DefaultAgentToken, "Basic " + ControlPlaneFactory.AdminApiKey })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
                if (key is not null) request.Headers.TryAddWithoutValidation("Authorization", key.StartsWith("Basic ", StringComparison.Ordinal) ? key : "Bearer " + key);
                using var response = await anonymous.SendAsync(request);
                if (path == "/hooks/{webhookId}")
                {
                    // A webhook's URL takes no API key: its signature is checked, and any refusal is a bare 401 (WebhookTests).
                    Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                    continue;
                }
                // Agents call three endpoints: enrollment with an enrollment token, and the release and plugin downloads
                // with the credentials they connect with; every other endpoint takes an API key.
                var expected = path == "/agents/enroll" ? "Authorization: Bearer <enrollment token>"
                    : path.StartsWith("/agents/releases/", StringComparison.Ordinal) || path.StartsWith("/agents/plugin-packages/", StringComparison.Ordinal)
                        ? "Authorization: Bearer <agent key or shared token>"
                        : "Authorization: Bearer <api key>";
                await AssertProblemAsync(response, HttpStatusCode.Unauthorized, expected);
            }
        }

        foreach (var open in new[] { "/health", "/alive", "/scalar/v1", "/openapi/v1.json" })
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(open)).StatusCode);
        Assert.True(document.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("bearer", out _));
    }

    [Fact]
    public async Task ScopesLimitWhatAKeyMayDo()
    {
        var (_, readKey) = await CreateKeyAsync("dashboard", ["read"]);
        var (_, deployKey) = await CreateKeyAsync("ci", ["deploy"]);
        using var reader = _controlPlane.CreateApiClient(readKey);
        using var deployer = _controlPlane.CreateApiClient(deployKey);

        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/agents")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/jobs")).StatusCode);
        using (var refused = await reader.PostJsonAsync("/deploy", new { project_name = "app" }))
            await AssertProblemAsync(refused, HttpStatusCode.Forbidden, "lacks the 'deploy' scope");

        Assert.Equal(HttpStatusCode.OK, (await deployer.GetAsync("/deployments")).StatusCode); // deploy includes read
        using (var validated = await deployer.PostJsonAsync("/deploy", new { project_name = "../app" }))
            Assert.Equal(HttpStatusCode.BadRequest, validated.StatusCode); // let through to validation
        using (var noAdmin = await deployer.GetAsync("/api-keys"))
            await AssertProblemAsync(noAdmin, HttpStatusCode.Forbidden, "lacks the 'admin' scope");
        using (var noAdminCreate = await deployer.PostJsonAsync("/api-keys", new { name = "sneaky", scopes = new[] { "admin" } }))
            await AssertProblemAsync(noAdminCreate, HttpStatusCode.Forbidden, "admin");
    }

    [Fact]
    public async Task ARevokedKeyStopsWorkingOnTheNextRequest()
    {
        var (id, key) = await CreateKeyAsync("temporary", ["read"]);
        using var client = _controlPlane.CreateApiClient(key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/agents")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync($"/api-keys/{id}")).StatusCode);
        await AssertProblemAsync(await client.GetAsync("/agents"), HttpStatusCode.Unauthorized, "revoked");
        var listed = (await _admin.GetJsonAsync("/api-keys")).EnumerateArray().Single(k => k.GetProperty("id").GetString() == id);
        Assert.False(listed.GetProperty("active").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.DeleteAsync("/api-keys/key_nope")).StatusCode);
    }

    [Fact]
    public async Task AnExpiredKeyIsRefused()
    {
        var (_, key) = await CreateKeyAsync("short-lived", ["read"], _clock.GetUtcNow().AddHours(1));
        using var client = _controlPlane.CreateApiClient(key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/agents")).StatusCode);
        _clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        await AssertProblemAsync(await client.GetAsync("/agents"), HttpStatusCode.Unauthorized, "expired");
    }

    [Fact]
    public async Task AKeyIsShownOnceAndStoredOnlyAsAHash()
    {
        var (id, key) = await CreateKeyAsync("ci", ["deploy"]);
        Assert.StartsWith("idk_", key);
        Assert.True(key.Length >= 40);
        var listing = await _admin.GetStringAsync("/api-keys");
        Assert.Contains(id, listing);
        Assert.DoesNotContain(key, listing);
        Assert.DoesNotContain(ControlPlaneFactory.AdminApiKey, listing);

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in Directory.GetFiles(_controlPlane.DataDirectory))
        {
            var bytes = Encoding.Latin1.GetString(await ReadSharedAsync(file));
            Assert.DoesNotContain(key, bytes);
            Assert.DoesNotContain(ControlPlaneFactory.AdminApiKey, bytes);
        }
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var memory = new MemoryStream();
        await stream.CopyToAsync(memory);
        return memory.ToArray();
    }

    [Theory]
    [InlineData("{\"scopes\":[\"read\"]}", "name")]
    [InlineData("{\"name\":\"x\",\"scopes\":[]}", "scopes")]
    [InlineData("{\"name\":\"x\",\"scopes\":[\"root\"]}", "scopes")]
    [InlineData("{\"name\":\"x\",\"scopes\":[\"read\"],\"expires_at\":\"2000-01-01T00:00:00Z\"}", "expires_at")]
    public async Task ABadKeyRequestIsRefusedAndCreatesNothing(string body, string field)
    {
        var before = (await _admin.GetJsonAsync("/api-keys")).GetArrayLength();
        using var response = await _admin.PostAsync("/api-keys", new StringContent(body, Encoding.UTF8, "application/json"));
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Equal(before, (await _admin.GetJsonAsync("/api-keys")).GetArrayLength());
    }
}

public sealed class AdminKeyBootstrapTests
{
    [Fact]
    public async Task WithoutAConfiguredAdminKeyOneIsGeneratedPrintedOnceAndWorks()
    {
        var folder = Directory.CreateTempSubdirectory("instadeploy-bootstrap-").FullName;
        try
        {
            var port = ProcessFleet.FreePort();
            var (firstOutput, key) = await RunUntilAsync(folder, port, output => output.Contains("idk_"));
            Assert.Contains("It is shown only now", firstOutput);
            using (var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") })
            {
                // The process was stopped; start it again and use the key it printed the first time.
                var (secondOutput, _) = await RunUntilAsync(folder, port, output => output.Contains("Application started"), async () =>
                {
                    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/agents")).StatusCode);
                });
                Assert.DoesNotContain("idk_", secondOutput);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<(string Output, string Key)> RunUntilAsync(string folder, int port, Func<string, bool> ready, Func<Task>? whileRunning = null)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "InstaDeploy.ControlPlane.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder,
        };
        start.Environment.Remove("INSTADEPLOY_ADMIN_API_KEY");
        start.Environment["AGENT_SECRET_TOKEN"] = "bootstrap-test-token-0123456789abcdef";
        start.Environment["INSTADEPLOY_DATA_DIR"] = Path.Combine(folder, "data");
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        // This folder holds the test's dependencies' settings files too (the agent's among them): say the level the
        // "Application started" line this test waits for needs, rather than depend on which appsettings.json is here.
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Eventually.TrueAsync(() => { lock (output) return ready(output.ToString()) && output.ToString().Contains("Application started"); },
                TimeSpan.FromSeconds(60), "the control plane to start");
            if (whileRunning is not null) await whileRunning();
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        var text = output.ToString();
        var key = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("idk_", StringComparison.Ordinal)) ?? "";
        return (text, key);
    }
}

public sealed class RateLimitTests
{
    [Fact]
    public async Task EachApiKeyIsRateLimitedOnItsOwnWithA429ThatSaysWhen()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "2" });
        using var admin = controlPlane.CreateApiClient();
        using var created = await admin.PostJsonAsync("/api-keys", new { name = "other", scopes = new[] { "read" } });
        var otherKey = (await created.ReadJsonAsync()).GetProperty("key").GetString()!;

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 20; i++)
        {
            var response = await admin.GetAsync("/agents");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) limited ??= response;
        }
        Assert.Contains(HttpStatusCode.OK, statuses);
        Assert.NotNull(limited);
        Assert.Equal("1", limited.Headers.GetValues("Retry-After").Single());
        Assert.Contains("INSTADEPLOY_RATE_LIMIT_PER_SECOND", (await limited.ReadJsonAsync()).GetProperty("detail").GetString());

        using var other = controlPlane.CreateApiClient(otherKey);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/agents")).StatusCode); // its own bucket
        await Task.Delay(1100);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/agents")).StatusCode); // refilled
    }
}
