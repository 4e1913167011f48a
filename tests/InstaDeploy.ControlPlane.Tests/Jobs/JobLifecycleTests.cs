using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace InstaDeploy.ControlPlane.Tests.Jobs;

public sealed class JobLifecycleTests
{
    private static readonly string Compose = Convert.ToBase64String("services:\n  web:\n    image: local/busybox:1\n"u8.ToArray());

    [Fact]
    public async Task AJobWithNoResultBeforeItsTimeoutEndsTimedOutAndALateResultFromItsAgentIsApplied()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var controlPlane = new ControlPlaneFactory(time: clock);
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => null);
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "vps-1");
        await api.WaitForAgentOnlineAsync("vps-1");

        using var response = await api.PostJsonAsync("/deploy", new { project_name = "slow", compose_file_base64 = Compose, timeout_seconds = 30 });
        var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;

        clock.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(300);
        Assert.Equal("SENT", (await api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString());

        clock.Advance(TimeSpan.FromSeconds(2));
        var job = await api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(10));
        Assert.Equal("TIMED_OUT", job.GetProperty("status").GetString());
        Assert.Contains("timeout", job.GetProperty("error").GetString());
        Assert.Equal("unknown", (await api.GetJsonAsync("/deployments/slow")).GetProperty("placements")[0].GetProperty("state").GetString());

        // What really happened wins: the agent's result, late, is the job's end, and it says it came late.
        await agent.SendRawAsync($$"""{"job_id":"{{jobId}}","status":"COMPLETED","logs":"too late","error":""}""");
        await Eventually.TrueAsync(async () => (await api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString() == "COMPLETED",
            TimeSpan.FromSeconds(10), "the late result to be applied");
        var late = await api.GetJsonAsync($"/jobs/{jobId}");
        Assert.True(late.GetProperty("arrived_late").GetBoolean());
        Assert.Equal("too late", late.GetProperty("logs").GetString());
        var placement = (await api.GetJsonAsync("/deployments/slow")).GetProperty("placements")[0];
        Assert.Equal("running", placement.GetProperty("state").GetString());
        Assert.Equal(1, placement.GetProperty("current_revision").GetInt32());
        Assert.Equal("succeeded", (await api.GetJsonAsync("/deployments/slow/revisions"))[0].GetProperty("outcome").GetString());
        Assert.Contains(controlPlane.Logs.Lines, l => l.Contains($"Job {jobId}: its result (COMPLETED) arrived after it had timed out"));

        // A result from another agent, or for a job that ended any other way, still changes nothing.
        await using var other = new SeedAgent((_, _, _) => null);
        await other.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "vps-2");
        await other.SendRawAsync($$"""{"job_id":"{{jobId}}","status":"FAILED","logs":"","error":"not mine"}""");
        await agent.SendRawAsync($$"""{"job_id":"{{jobId}}","status":"FAILED","logs":"","error":"twice"}""");
        await Task.Delay(500);
        Assert.Equal("COMPLETED", (await api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AJobQueuedForAnOfflineAgentExpiresIfTheAgentDoesNotReturnInTime()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var controlPlane = new ControlPlaneFactory(time: clock);
        using var api = controlPlane.CreateApiClient();
        await using (var agent = new SeedAgent((_, _, _) => ("COMPLETED", "", "")))
        {
            await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "vps-1");
            await api.WaitForAgentOnlineAsync("vps-1");
        }
        await Eventually.TrueAsync(async () => !(await api.GetJsonAsync("/agents/vps-1")).GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(10), "offline");

        using var response = await api.PostJsonAsync("/deploy", new { project_name = "late", compose_file_base64 = Compose, agent_id = "vps-1", queue_ttl_seconds = 60 });
        var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
        clock.Advance(TimeSpan.FromSeconds(61));
        var job = await api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(10));
        Assert.Equal("EXPIRED", job.GetProperty("status").GetString());
        Assert.Contains("never sent", job.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/deployments/late")).StatusCode);

        await using var returning = new SeedAgent((_, _, _) => ("COMPLETED", "", ""));
        await returning.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "vps-1");
        await api.WaitForAgentOnlineAsync("vps-1");
        await Task.Delay(300);
        Assert.Empty(returning.ReceivedCommands);
    }

    [Fact]
    public async Task JobsAgentsAndDeploymentsSurviveARestartOfTheControlPlane()
    {
        var data = Directory.CreateTempSubdirectory("instadeploy-restart-").FullName;
        try
        {
            var settings = new Dictionary<string, string?> { ["INSTADEPLOY_DATA_DIR"] = data };
            string jobId;
            await using (var first = new ControlPlaneFactory(settings))
            {
                using var api = first.CreateApiClient();
                await using var agent = new SeedAgent((_, _, _) => ("COMPLETED", "Deployment successful", ""));
                await agent.ConnectAsync(first.WebSocketUrl, first.AgentToken, "vps-1");
                await api.WaitForAgentOnlineAsync("vps-1");
                using var response = await api.PostJsonAsync("/deploy", new { project_name = "kept", compose_file_base64 = Compose });
                jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
                await api.WaitForJobAsync(jobId);
            }

            Assert.True(ControlPlaneFactory.TestsOnPostgres || File.Exists(Path.Combine(data, "instadeploy.db")));
            await using var second = new ControlPlaneFactory(settings);
            using var api2 = second.CreateApiClient();
            var job = await api2.GetJsonAsync($"/jobs/{jobId}");
            Assert.Equal(("COMPLETED", "Deployment successful"), (job.GetProperty("status").GetString(), job.GetProperty("logs").GetString()));
            var agentAfter = await api2.GetJsonAsync("/agents/vps-1");
            Assert.False(agentAfter.GetProperty("online").GetBoolean(), "no agent is connected to a freshly started control plane");
            Assert.Equal("running", (await api2.GetJsonAsync("/deployments/kept")).GetProperty("placements")[0].GetProperty("state").GetString());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task WithoutAgentSecretTokenTheControlPlaneRefusesToStartAndSaysWhy()
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "InstaDeploy.ControlPlane.dll"), "--urls", "http://127.0.0.1:0"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = Directory.CreateTempSubdirectory("instadeploy-notoken-").FullName,
        };
        start.Environment.Remove("AGENT_SECRET_TOKEN");
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var exited = process.WaitForExitAsync();
        if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(60))) != exited)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the control plane started without AGENT_SECRET_TOKEN");
        }
        Assert.Equal(2, process.ExitCode);
        var message = await stderr;
        Assert.Contains("AGENT_SECRET_TOKEN is not set", message);
        Assert.DoesNotContain("   at ", message); // no stack trace
    }

    [Fact]
    public async Task AnotherConnectionOfTheSameAgentReplacesTheOlderOne()
    {
        await using var controlPlane = new ControlPlaneFactory();
        using var api = controlPlane.CreateApiClient();
        await using var older = new SeedAgent((_, _, _) => ("COMPLETED", "older", ""));
        await older.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "vps-1");
        await api.WaitForAgentOnlineAsync("vps-1");
        await using var newer = new SeedAgent((_, _, _) => ("COMPLETED", "newer", ""));
        await newer.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "vps-1");
        await Task.Delay(300);

        using var response = await api.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = Compose });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        Assert.Equal("newer", job.GetProperty("logs").GetString());
        Assert.Empty(older.ReceivedCommands);
        Assert.True((await api.GetJsonAsync("/agents/vps-1")).GetProperty("online").GetBoolean());
    }
}
