using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace InstaDeploy.Cli.Tests.StandIn;

/// <summary>
/// The CLI against endpoints as the issue documents them, before the control plane has them: a follow that resumes
/// with Last-Event-ID when the server numbers its events, and rollouts (deploy --selector, watch, actions).
/// </summary>
public sealed class StandInTests
{
    private static CliUser UserOf(StandInControlPlane server)
    {
        var user = new CliUser();
        user.Environment["INSTADEPLOY_URL"] = server.Url.ToString();
        user.Environment["INSTADEPLOY_API_KEY"] = "idk_stand-in";
        return user;
    }

    private static async Task EventAsync(HttpResponse response, string? id, string name, string data)
    {
        await response.WriteAsync((id is null ? "" : $"id: {id}\n") + $"event: {name}\ndata: {data}\n\n");
        await response.Body.FlushAsync();
    }

    [Fact]
    public async Task AFollowResumesWithLastEventIdWhenTheServerNumbersItsEvents()
    {
        var lastEventIds = new ConcurrentQueue<string>();
        await using var server = await StandInControlPlane.StartAsync(app =>
        {
            app.MapGet("/jobs/job-1/logs", async (HttpContext context) =>
            {
                context.Response.ContentType = "text/event-stream";
                var resumeFrom = context.Request.Headers["Last-Event-ID"].ToString();
                lastEventIds.Enqueue(resumeFrom);
                if (resumeFrom.Length == 0)
                {
                    await EventAsync(context.Response, "1", "log", "one");
                    await EventAsync(context.Response, "2", "log", "two\ndata: three");
                    return; // the stream ends before the job does, as when a proxy cuts a long request

                }
                await EventAsync(context.Response, "3", "log", "four");
                await EventAsync(context.Response, null, "end", """{"status":"FAILED","error":"exit code 3"}""");
            });
        });
        using var user = UserOf(server);

        var result = await user.RunAsync("jobs", "logs", "-f", "job-1");

        Assert.Equal("one\ntwo\nthree\nfour\n", result.Stdout);
        Assert.Equal(["", "2"], lastEventIds);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: Job job-1 FAILED: exit code 3", result.Stderr.Trim());
    }

    private static JsonElement Rollout(string state, int succeeded, int failed, string targetState) => JsonSerializer.SerializeToElement(new
    {
        id = "ro-1",
        project_name = "shop",
        state,
        counts = new { total = 2, pending = 2 - succeeded - failed, running = 0, succeeded, failed, skipped = 0 },
        targets = new[] { new { agent_id = "web-1", state = targetState, job_id = "job-a" }, new { agent_id = "web-2", state = targetState, job_id = "job-b" } },
    });

    [Fact]
    public async Task DeployBySelectorCreatesARolloutWithTheStrategyAndFollowsItToSuccess()
    {
        JsonElement? body = null;
        var reads = 0;
        await using var server = await StandInControlPlane.StartAsync(app =>
        {
            app.MapPost("/rollouts", async (HttpContext context) =>
            {
                body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body);
                context.Response.StatusCode = 202;
                await context.Response.WriteAsJsonAsync(Rollout("pending", 0, 0, "pending"));
            });
            app.MapGet("/rollouts/ro-1", () => Interlocked.Increment(ref reads) < 3 ? Rollout("running", 1, 0, "running") : Rollout("succeeded", 2, 0, "succeeded"));
            app.MapGet("/rollouts/ro-1/events", async (HttpContext context) =>
            {
                context.Response.ContentType = "text/event-stream";
                for (var i = 0; i < 5 && !context.RequestAborted.IsCancellationRequested; i++)
                {
                    await EventAsync(context.Response, $"{i}", "target", "{}");
                    await Task.Delay(100);
                }
            });
        });
        using var user = UserOf(server);
        var compose = Path.Combine(user.Home, "docker-compose.yml");
        await File.WriteAllTextAsync(compose, "services:\n  web:\n    image: local/busybox:1\n");

        var result = await user.RunAsync("deploy", "-f", compose, "-p", "shop", "--selector", "env=prod", "--max-parallel", "2", "--canary", "1",
            "--batch-wait", "30", "--health-wait", "45", "--max-failures", "0", "--on-failure", "rollback", "--offline", "skip", "--follow", "-o", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("succeeded", CliFixture.Json(result.Stdout).GetProperty("state").GetString());
        Assert.Contains("rollout ro-1 running", result.Stderr);
        var sent = body!.Value;
        Assert.Equal("shop", sent.GetProperty("project_name").GetString());
        Assert.Equal("env=prod", sent.GetProperty("targets").GetProperty("selector").GetString());
        Assert.Equal("""{"max_parallel":2,"canary":1,"batch_wait_seconds":30,"health_wait_seconds":45,"max_failures":0,"on_failure":"rollback","offline":"skip"}""",
            sent.GetProperty("strategy").GetRawText());
        Assert.Equal("services:\n  web:\n    image: local/busybox:1\n",
            System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(sent.GetProperty("compose_file_base64").GetString()!)));
    }

    [Fact]
    public async Task AFailedRolloutExits1AndTheActionsPostToTheirEndpoints()
    {
        var actions = new ConcurrentQueue<string>();
        JsonElement? body = null;
        await using var server = await StandInControlPlane.StartAsync(app =>
        {
            app.MapPost("/rollouts", async (HttpContext context) =>
            {
                body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body);
                return Results.Json(Rollout("pending", 0, 0, "pending"), statusCode: 202);
            });
            app.MapGet("/rollouts", () => new[] { Rollout("failed", 1, 1, "failed") });
            app.MapGet("/rollouts/ro-1", () => Rollout("failed", 1, 1, "failed"));
            app.MapPost("/rollouts/ro-1/{action}", (string action) =>
            {
                actions.Enqueue(action);
                return Rollout(action == "pause" ? "paused" : "running", 1, 0, "running");
            });
        });
        using var user = UserOf(server);
        var compose = Path.Combine(user.Home, "docker-compose.yml");
        await File.WriteAllTextAsync(compose, "services:\n  web:\n    image: local/busybox:1\n");

        var failed = await user.RunAsync("deploy", "-f", compose, "-p", "shop", "--agent", "web-1", "--agent", "web-2", "--follow");
        Assert.True(failed.ExitCode == 1, failed.ToString());
        Assert.Contains("Rollout ro-1 ended failed (1 failed)", failed.Stderr);
        Assert.Matches(@"web-1\s+failed\s+job-a", failed.Stdout);
        Assert.Equal("""["web-1","web-2"]""", body!.Value.GetProperty("targets").GetProperty("agent_ids").GetRawText());

        var watched = await user.RunAsync("rollouts", "show", "ro-1", "--watch");
        Assert.Equal(1, watched.ExitCode);
        Assert.Matches(@"ro-1\s+shop\s+failed\s+2/2\s+1", (await user.RunAsync("rollouts", "ls")).Stdout);

        foreach (var action in new[] { "pause", "resume", "promote", "cancel" })
        {
            var result = await user.RunAsync("rollouts", action, "ro-1");
            Assert.True(result.ExitCode == 0, result.ToString());
        }
        Assert.Equal(["pause", "resume", "promote", "cancel"], actions);
        Assert.Equal(4, (await user.RunAsync("rollouts", "show", "ro-404")).ExitCode);
    }
}
