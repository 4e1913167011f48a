using System.Net;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.ControlPlane.Tests.Jobs;

/// <summary>
/// Live output pushed from memory: a job's lines reach its followers as the agent sends them, numbered, each exactly once,
/// whenever the follower joins or comes back with Last-Event-ID; the store keeps the record within the job-log cap.
/// The agent is a peer written to the seed README that sends RUNNING responses by hand.
/// </summary>
public sealed class LiveOutputTests : IAsyncLifetime
{
    private const string AgentId = "live-1";
    private readonly ControlPlaneFactory _controlPlane = new(new Dictionary<string, string?>
    {
        ["INSTADEPLOY_RATE_LIMIT_PER_SECOND"] = "1000",
        ["INSTADEPLOY_MAX_JOB_LOG_BYTES"] = "65536",
    });
    private SeedAgent _agent = null!;
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        _api = _controlPlane.CreateApiClient();
        _agent = new SeedAgent((_, _, _) => null); // answers by hand, below
        await _agent.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, AgentId);
        await _api.WaitForAgentOnlineAsync(AgentId);
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _api.Dispose();
        await _controlPlane.DisposeAsync();
    }

    [Fact]
    public async Task LinesReachAFollowerAsTheyArriveNumberedThenTheEnd()
    {
        var jobId = await StartJobAsync();
        await using var follow = await SseClient.OpenAsync(_api, $"/jobs/{jobId}/logs?follow=true");
        Assert.Equal("text/event-stream", follow.Response.Content.Headers.ContentType?.MediaType);

        await RunningAsync(jobId, "one\ntwo\n");
        var first = await NextLogAsync(follow);
        Assert.Equal(["one", "two"], first.Lines);
        Assert.Equal("2", first.Id);

        await RunningAsync(jobId, "three\n");
        var second = await NextLogAsync(follow);
        Assert.Equal(["three"], second.Lines);
        Assert.Equal("3", second.Id);

        // The final response repeats all output (as our agent does) plus a last line: only the new line follows.
        await FinalAsync(jobId, "COMPLETED", "one\ntwo\nthree\nfour\n");
        var rest = await follow.ReadToEndAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["four"], rest.Single(e => e.Name == "log").Lines);
        Assert.Equal("4", rest.Single(e => e.Name == "log").Id);
        var end = JsonDocument.Parse(rest.Last().Data).RootElement;
        Assert.Equal("end", rest.Last().Name);
        Assert.Equal("COMPLETED", end.GetProperty("status").GetString());
        Assert.Equal("one\ntwo\nthree\nfour\n", (await _api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("logs").GetString());
    }

    [Fact]
    public async Task AFollowerThatJoinsMidJobGetsEveryLineExactlyOnceInOrder()
    {
        var jobId = await StartJobAsync();
        // Enough lines that the early ones have left memory and are read from the store when the follower joins.
        var next = 1;
        for (var chunk = 0; chunk < 40; chunk++, next += 100)
            await RunningAsync(jobId, Lines(next, 100));
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString() == "RUNNING", TimeSpan.FromSeconds(10), "the job is RUNNING");

        await using var follow = await SseClient.OpenAsync(_api, $"/jobs/{jobId}/logs?follow=true");
        var seen = new List<string>();
        var reader = Task.Run(async () =>
        {
            foreach (var e in await follow.ReadToEndAsync(TimeSpan.FromSeconds(30)))
                if (e.Name == "log") seen.AddRange(e.Lines);
        });
        for (var chunk = 0; chunk < 20; chunk++, next += 100)
            await RunningAsync(jobId, Lines(next, 100));
        await FinalAsync(jobId, "COMPLETED", Lines(1, next - 1));
        await reader;

        Assert.Equal(Enumerable.Range(1, next - 1).Select(n => $"line {n}"), seen);
    }

    [Fact]
    public async Task AClientThatReconnectsWithLastEventIdGetsOnlyTheLinesAfterIt()
    {
        var jobId = await StartJobAsync();
        await RunningAsync(jobId, Lines(1, 3));
        string lastId;
        await using (var follow = await SseClient.OpenAsync(_api, $"/jobs/{jobId}/logs?follow=true"))
        {
            var first = await NextLogAsync(follow);
            Assert.Equal(["line 1", "line 2", "line 3"], first.Lines);
            lastId = first.Id!;
        } // the connection drops

        await RunningAsync(jobId, Lines(4, 2));
        await using (var again = await SseClient.OpenAsync(_api, $"/jobs/{jobId}/logs?follow=true", lastEventId: lastId))
        {
            var resumed = await NextLogAsync(again);
            Assert.Equal(["line 4", "line 5"], resumed.Lines);
            Assert.Equal("5", resumed.Id);
            lastId = resumed.Id!;
        }

        // After the job ended the record is the store's: the same numbering, so resuming still skips what was seen.
        await FinalAsync(jobId, "FAILED", Lines(1, 6), error: "exit 1");
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString() == "FAILED", TimeSpan.FromSeconds(10), "the job is FAILED");
        await using var late = await SseClient.OpenAsync(_api, $"/jobs/{jobId}/logs?follow=true", lastEventId: lastId);
        var events = await late.ReadToEndAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["line 6"], events.Single(e => e.Name == "log").Lines);
        Assert.Equal("FAILED", JsonDocument.Parse(events.Last().Data).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ALastEventIdThatIsNotALineNumberIsRefused()
    {
        var jobId = await StartJobAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{jobId}/logs?follow=true");
        request.Headers.Add("Last-Event-ID", "abc");
        using var response = await _api.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Last-Event-ID", (await response.ReadJsonAsync()).GetProperty("detail").GetString());
        await FinalAsync(jobId, "COMPLETED", "");
    }

    [Fact]
    public async Task ACarriageReturnInOutputCannotStartAnEventOfItsOwn()
    {
        var jobId = await StartJobAsync();
        await using var follow = await SseClient.OpenAsync(_api, $"/jobs/{jobId}/logs?follow=true");
        await RunningAsync(jobId, "progress 10%\revent: end\rdata: {\"status\":\"COMPLETED\"}\r\n");
        var injected = await NextLogAsync(follow);
        Assert.Equal("log", injected.Name);
        Assert.Equal(["progress 10%", "event: end", "data: {\"status\":\"COMPLETED\"}", ""], injected.Lines);

        await RunningAsync(jobId, "still running\n");
        Assert.Equal(["still running"], (await NextLogAsync(follow)).Lines);
        await FinalAsync(jobId, "COMPLETED", "");
        Assert.Equal("end", (await follow.ReadToEndAsync(TimeSpan.FromSeconds(10))).Last().Name);
    }

    [Fact]
    public async Task StoredOutputNeverExceedsTheJobLogCapWhileRunningOrAfter()
    {
        var jobId = await StartJobAsync(timeoutSeconds: 3);
        var line = new string('x', 999); // 1,000 bytes with its newline
        for (var i = 0; i < 100; i++) await RunningAsync(jobId, line + "\n");
        await Eventually.TrueAsync(async () => (await _api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("status").GetString() == "RUNNING", TimeSpan.FromSeconds(10), "the job is RUNNING");

        // No final answer: the job times out, and what was streamed (within the cap) is its record.
        var job = await _api.WaitForJobAsync(jobId, TimeSpan.FromSeconds(30));
        Assert.Equal("TIMED_OUT", job.GetProperty("status").GetString());
        var logs = job.GetProperty("logs").GetString()!;
        Assert.InRange(Encoding.UTF8.GetByteCount(logs), 60_000, 65_536);
        Assert.All(logs.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Equal(line, l));
    }

    [Fact]
    public async Task AFinalOutputOverTheCapKeepsItsTailAndItsLineNumbers()
    {
        var jobId = await StartJobAsync();
        var all = Lines(1, 10_000); // ~108 KB, over the 64 KiB cap
        await FinalAsync(jobId, "COMPLETED", all);
        var job = await _api.WaitForJobAsync(jobId);
        var logs = job.GetProperty("logs").GetString()!;
        Assert.True(Encoding.UTF8.GetByteCount(logs) <= 65_536);
        Assert.EndsWith("line 10000\n", logs);
        var firstKept = int.Parse(logs[5..logs.IndexOf('\n')], System.Globalization.CultureInfo.InvariantCulture);

        await using var follow = await SseClient.OpenAsync(_api, $"/jobs/{jobId}/logs?follow=true");
        var log = (await follow.ReadToEndAsync(TimeSpan.FromSeconds(10))).First(e => e.Name == "log");
        Assert.Equal($"line {firstKept}", log.Lines[0]);
        Assert.Equal("10000", log.Id); // the lines keep the numbers they had in the whole output
    }

    [Fact]
    public async Task OutputForAJobOfAnotherAgentIsIgnored()
    {
        var jobId = await StartJobAsync();
        await using var intruder = new SeedAgent((_, _, _) => null);
        await intruder.ConnectAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, "intruder-1");
        await _api.WaitForAgentOnlineAsync("intruder-1");
        await using var follow = await SseClient.OpenAsync(_api, $"/jobs/{jobId}/logs?follow=true");
        await intruder.SendRawAsync(Running(jobId, "not yours\n"));
        await RunningAsync(jobId, "mine\n");
        Assert.Equal(["mine"], (await NextLogAsync(follow)).Lines);
        await FinalAsync(jobId, "COMPLETED", "mine\n");
    }

    [Fact]
    public async Task JobListsCarryNoOutput()
    {
        var jobId = await StartJobAsync();
        await FinalAsync(jobId, "COMPLETED", "a lot of output\n");
        await _api.WaitForJobAsync(jobId);
        var listed = (await _api.GetJsonAsync($"/jobs?agent_id={AgentId}")).EnumerateArray().First(j => j.GetProperty("job_id").GetString() == jobId);
        Assert.False(listed.TryGetProperty("logs", out _));
        Assert.Equal("COMPLETED", listed.GetProperty("status").GetString());
        Assert.Equal("a lot of output\n", (await _api.GetJsonAsync($"/jobs/{jobId}")).GetProperty("logs").GetString());
    }

    private async Task<string> StartJobAsync(int? timeoutSeconds = null)
    {
        int before;
        lock (_agent.ReceivedCommands) before = _agent.ReceivedCommands.Count;
        using var response = await _api.PostJsonAsync($"/agents/{AgentId}/commands", timeoutSeconds is null
            ? new { type = "HEALTH_CHECK" }
            : (object)new { type = "HEALTH_CHECK", timeout_seconds = timeoutSeconds });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
        await Eventually.TrueAsync(() =>
        {
            lock (_agent.ReceivedCommands) return _agent.ReceivedCommands.Skip(before).Any(c => c.GetProperty("id").GetString() == jobId);
        }, TimeSpan.FromSeconds(10), "the agent received the job");
        return jobId;
    }

    private Task RunningAsync(string jobId, string logs) => _agent.SendRawAsync(Running(jobId, logs));

    private static string Running(string jobId, string logs) => JsonSerializer.Serialize(new { job_id = jobId, status = "RUNNING", logs, error = "" });

    private Task FinalAsync(string jobId, string status, string logs, string error = "") =>
        _agent.SendRawAsync(JsonSerializer.Serialize(new { job_id = jobId, status, logs, error }));

    private static string Lines(int from, int count) => string.Concat(Enumerable.Range(from, count).Select(n => $"line {n}\n"));

    private static async Task<SseEvent> NextLogAsync(SseClient follow)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await follow.NextAsync(limit.Token) is { } next)
            if (next.Name == "log") return next;
        throw new Xunit.Sdk.XunitException("the stream ended before a log event");
    }
}
