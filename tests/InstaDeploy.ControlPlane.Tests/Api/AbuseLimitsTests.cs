using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Tests.Api;

/// <summary>
/// Every untrusted input is bounded: each test sends the abuse, then shows the control plane is still up and still
/// serves everyone else.
/// </summary>
public sealed class AbuseLimitsTests
{
    [Fact]
    public async Task RequestsWithoutAValidKeyAreThrottledPerAddressWhileKeyHoldersAreServed()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_UNAUTHENTICATED_RATE_PER_IP"] = "5" });
        using var guesser = controlPlane.CreateApiClient(apiKey: "idk_guess-0000000000000000000000000000000000000000");
        using var admin = controlPlane.CreateApiClient();
        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ =>
        {
            using var response = await guesser.GetAsync("/agents");
            return (response.StatusCode, response.Headers.RetryAfter?.ToString());
        }));
        Assert.Contains(answers, a => a.StatusCode == HttpStatusCode.Unauthorized);
        Assert.True(answers.Count(a => a.StatusCode == HttpStatusCode.TooManyRequests) >= 100, "most guesses are throttled");
        Assert.All(answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests), a => Assert.Equal("1", a.Item2));

        // The enrollment endpoint takes no API key: the same limit throttles it.
        using var anonymous = controlPlane.CreateApiClient(apiKey: null);
        var enrolls = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            using var response = await anonymous.PostJsonAsync("/agents/enroll", new { agent_id = "x" });
            return response.StatusCode == HttpStatusCode.TooManyRequests ? (await response.ReadJsonAsync()).GetProperty("detail").GetString() : null;
        }));
        Assert.Contains(enrolls, detail => detail?.Contains("INSTADEPLOY_UNAUTHENTICATED_RATE_PER_IP") == true);

        using var served = await admin.GetAsync("/agents");
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task AFloodOfAgentHandshakesIsThrottledAndTheApiStaysUp()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_HANDSHAKE_RATE_PER_IP"] = "2" });
        using var admin = controlPlane.CreateApiClient();
        var refusals = new List<int>();
        for (var i = 0; i < 60; i++)
        {
            var attempt = new SeedAgent((_, _, _) => null);
            try
            {
                await attempt.ConnectAsync(controlPlane.WebSocketUrl, "wrong-token-0000000000000000000000000000", $"flood-{i}");
            }
            catch (WebSocketException)
            {
            }
            refusals.Add(attempt.RefusedWith);
        }
        Assert.Contains(401, refusals);
        Assert.True(refusals.Count(r => r == 429) >= 30, $"the flood is throttled: {string.Join(",", refusals)}");
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/agents")).StatusCode);
    }

    [Fact]
    public async Task AnAgentThatFloodsMessagesIsCutOffAndAnotherAgentIsStillServed()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_AGENT_MESSAGES_PER_SECOND"] = "20" });
        using var admin = controlPlane.CreateApiClient();
        await using var flooder = new SeedAgent((_, _, _) => null);
        await flooder.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "flooder-1");
        await using var honest = new SeedAgent((_, _, _) => ("COMPLETED", "fine", ""));
        await honest.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "honest-1");
        await admin.WaitForAgentOnlineAsync("honest-1");

        try
        {
            for (var i = 0; i < 5000 && flooder.State == WebSocketState.Open; i++)
                await flooder.SendRawAsync("""{"type":"AGENT_PLUGINS","plugins":[]}""");
        }
        catch (WebSocketException)
        {
        }
        await Eventually.TrueAsync(() => flooder.CloseStatus == WebSocketCloseStatus.PolicyViolation, TimeSpan.FromSeconds(10), "the flooder to be cut off");
        Assert.Contains(controlPlane.Logs.Lines, l => l.Contains("flooder-1 disconnected") && l.Contains("INSTADEPLOY_AGENT_MESSAGES_PER_SECOND"));

        using var health = await admin.PostAsync("/agents/honest-1/health", null);
        var job = await admin.WaitForJobAsync((await health.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ARepeatedAgentStateDoesNotSendTheOpenJobsAgain()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        await using (var first = new SeedAgent((_, _, _) => null))
        {
            await first.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "stateful-1", "reliable-delivery");
            await admin.WaitForAgentOnlineAsync("stateful-1");
        }
        await Eventually.TrueAsync(async () => !(await admin.GetJsonAsync("/agents/stateful-1")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), "offline");
        using (var queued = await admin.PostJsonAsync("/agents/stateful-1/commands", new { type = "HEALTH_CHECK" }))
            Assert.Equal(HttpStatusCode.Accepted, queued.StatusCode);

        await using var agent = new SeedAgent((_, _, _) => null);
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "stateful-1", "reliable-delivery");
        for (var i = 0; i < 20; i++) await agent.SendRawAsync("""{"type":"AGENT_STATE","running":[],"results":[]}""");
        await Eventually.TrueAsync(() => { lock (agent.ReceivedCommands) return agent.ReceivedCommands.Count > 0; }, TimeSpan.FromSeconds(10), "the queued job to be sent");
        await Task.Delay(500);
        lock (agent.ReceivedCommands) Assert.Single(agent.ReceivedCommands);
        Assert.Contains(controlPlane.Logs.Lines, l => l.Contains("a second AGENT_STATE on one connection"));
    }

    [Fact]
    public async Task AnOversizedOrMalformedPluginListIsIgnoredAndTheConnectionStays()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => ("COMPLETED", "ok", ""));
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "plugged-1");
        await admin.WaitForAgentOnlineAsync("plugged-1");
        var many = JsonSerializer.Serialize(new { type = "AGENT_PLUGINS", plugins = Enumerable.Range(0, 500).Select(i => new { name = $"p{i}", version = "1", command_types = new[] { "X" } }) });
        await agent.SendRawAsync(many);
        await agent.SendRawAsync("""{"type":"AGENT_PLUGINS","plugins":[{"name":"evil\nInjected log line","version":"1","command_types":["X"]}]}""");
        await Eventually.TrueAsync(() => controlPlane.Logs.Lines.Count(l => l.Contains("a plugin list with")) >= 2, TimeSpan.FromSeconds(10), "both lists refused");
        Assert.DoesNotContain(controlPlane.Logs.Lines, l => l.Contains("Injected log line"));
        Assert.Equal(JsonValueKind.Null, (await admin.GetJsonAsync("/agents/plugged-1")).GetProperty("plugins").ValueKind);
        Assert.Equal(WebSocketState.Open, agent.State);
    }

    [Fact]
    public async Task AResponseForAnIdTheControlPlaneNeverGaveIsNeitherLookedUpNorLogged()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var admin = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => null);
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "liar-1");
        await admin.WaitForAgentOnlineAsync("liar-1");
        await agent.SendRawAsync(JsonSerializer.Serialize(new { job_id = "job-1\nFAKE: admin logged in", status = "COMPLETED", logs = "", error = "" }));
        await Eventually.TrueAsync(() => controlPlane.Logs.Lines.Any(l => l.Contains("a job id this control plane never gives")), TimeSpan.FromSeconds(10), "the response refused");
        Assert.DoesNotContain(controlPlane.Logs.Lines, l => l.Contains("FAKE: admin"));
    }

    [Fact]
    public async Task StreamsAreCappedPerKeyAndInAll()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?>
        {
            ["INSTADEPLOY_MAX_STREAMS_PER_KEY"] = "2",
            ["INSTADEPLOY_MAX_STREAMS"] = "3",
        });
        using var admin = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => null);
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "streamed-1");
        await admin.WaitForAgentOnlineAsync("streamed-1");
        using var started = await admin.PostJsonAsync("/agents/streamed-1/commands", new { type = "HEALTH_CHECK" });
        var jobId = (await started.ReadJsonAsync()).GetProperty("job_id").GetString()!;
        using var created = await admin.PostJsonAsync("/api-keys", new { name = "reader", scopes = new[] { "read" } });
        using var reader = controlPlane.CreateApiClient((await created.ReadJsonAsync()).GetProperty("key").GetString()!);

        var path = $"/jobs/{jobId}/logs?follow=true";
        await using var one = await SseClient.OpenAsync(admin, path);
        await using var two = await SseClient.OpenAsync(admin, path);
        Assert.Equal(HttpStatusCode.OK, two.Response.StatusCode);
        using (var third = await admin.GetAsync(path, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.Contains("INSTADEPLOY_MAX_STREAMS_PER_KEY", (await third.ReadJsonAsync()).GetProperty("detail").GetString());
        }
        await using var other = await SseClient.OpenAsync(reader, path); // another key still gets one
        Assert.Equal(HttpStatusCode.OK, other.Response.StatusCode);
        using (var fourth = await reader.GetAsync(path, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, fourth.StatusCode);
            Assert.Contains("INSTADEPLOY_MAX_STREAMS", (await fourth.ReadJsonAsync()).GetProperty("detail").GetString());
        }

        await one.DisposeAsync(); // a place comes free when a stream ends
        await Eventually.TrueAsync(async () =>
        {
            using var again = await admin.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
            return again.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(10), "a stream place to come free");
    }

    [Theory]
    [InlineData("AGENT_SECRET_TOKEN", "short-token-0123456789")]
    [InlineData("INSTADEPLOY_ADMIN_API_KEY", "idk_short-0123456789")]
    public async Task ASecretShorterThan32CharactersIsRefusedAtStart(string variable, string value)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "InstaDeploy.ControlPlane.dll"), "--urls", "http://127.0.0.1:0"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = Directory.CreateTempSubdirectory("instadeploy-short-").FullName,
        };
        start.Environment["AGENT_SECRET_TOKEN"] = ControlPlaneFactory.DefaultAgentToken;
        start.Environment[variable] = value;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var exited = process.WaitForExitAsync();
        if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(60))) != exited)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the control plane started with a short {variable}");
        }
        Assert.Equal(2, process.ExitCode);
        Assert.Contains($"{variable} is shorter than 32 characters", await stderr);
    }

    [Fact]
    public async Task TheDataFolderDatabaseAndKeyRingAreOwnerOnly()
    {
        var data = Path.Combine(Directory.CreateTempSubdirectory("instadeploy-modes-").FullName, "data");
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_DATA_DIR"] = data });
        using var admin = controlPlane.CreateApiClient();
        using (var set = await admin.PutAsJsonAsync("/deployments/app/env/SECRET", new { value = "s3cr3t-value", secret = true }))
            Assert.Equal(HttpStatusCode.OK, set.StatusCode); // makes the key ring
        if (OperatingSystem.IsWindows()) return;
        const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(data));
        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(Path.Combine(data, "keys")));
        foreach (var file in Directory.GetFiles(data, "instadeploy.db*"))
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }
}
