using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace InstaDeploy.Cli.Tests.StandIn;

/// <summary>
/// What the real control plane cannot be made to do any more: a job-log stream without <c>id:</c> lines (a control plane
/// from before they were added), which replays the job's log from the start on every reconnect.
/// </summary>
public sealed class StandInTests
{
    private static async Task EventAsync(HttpResponse response, string name, string data)
    {
        await response.WriteAsync($"event: {name}\ndata: {data}\n\n");
        await response.Body.FlushAsync();
    }

    [Fact]
    public async Task AFollowOfAStreamWithoutEventIdsSkipsTheReplayedStartAfterAReconnect()
    {
        var lastEventIds = new ConcurrentQueue<string>();
        await using var server = await StandInControlPlane.StartAsync(app =>
        {
            app.MapGet("/jobs/job-1/logs", async (HttpContext context) =>
            {
                context.Response.ContentType = "text/event-stream";
                lastEventIds.Enqueue(context.Request.Headers["Last-Event-ID"].ToString());
                await EventAsync(context.Response, "log", "one");
                await EventAsync(context.Response, "log", "two\ndata: three");
                if (lastEventIds.Count == 1) return; // the stream ends before the job does, as when a proxy cuts a long request
                await EventAsync(context.Response, "log", "four");
                await EventAsync(context.Response, "end", """{"status":"FAILED","error":"exit code 3"}""");
            });
        });
        using var user = new CliUser();
        user.Environment["INSTADEPLOY_URL"] = server.Url.ToString();
        user.Environment["INSTADEPLOY_API_KEY"] = "idk_stand-in";

        var result = await user.RunAsync("jobs", "logs", "-f", "job-1");

        Assert.Equal("one\ntwo\nthree\nfour\n", result.Stdout);
        Assert.Equal(["", ""], lastEventIds);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: Job job-1 FAILED: exit code 3", result.Stderr.Trim());
    }
}
