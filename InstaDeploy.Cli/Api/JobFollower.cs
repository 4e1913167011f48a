using System.Text;
using System.Text.Json;

namespace InstaDeploy.Cli.Api;

/// <summary>How a job ended.</summary>
public sealed record JobEnd(string JobId, string Status, string Error)
{
    public bool Succeeded => Status == JobStatuses.Completed;
}

public static class JobStatuses
{
    public const string Completed = "COMPLETED";

    public static bool IsTerminal(string? status) => status is "COMPLETED" or "FAILED" or "TIMED_OUT" or "EXPIRED";
}

/// <summary>
/// Follows a job's output over Server-Sent Events (GET /jobs/{id}/logs?follow=true, or a container-logs stream) until its
/// <c>end</c> event, writing each new piece of output once. A dropped connection is reopened: with
/// <c>Last-Event-ID</c> when the server numbers its events, so it resumes where it was; otherwise the server replays the
/// job's log from the start, and the part already written is skipped. Either way no line is lost or written twice.
/// </summary>
public sealed class JobFollower(InstaDeployApiClient api, TimeProvider time)
{
    /// <summary>Reconnects in a row without any event in between before the follow gives up.</summary>
    public const int MaxReconnects = 8;

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    /// <summary>Follows the stream at <paramref name="path"/>; the job's id comes from the path or, for a container-logs
    /// stream, from its <c>X-InstaDeploy-Job-Id</c> header, and reconnects go to the job's own log stream.</summary>
    public async Task<JobEnd> FollowAsync(string path, string? jobId, Func<string, Task> write, Action<string> notice, CancellationToken cancellationToken)
    {
        var written = new StringBuilder();
        string? lastEventId = null;
        var failures = 0;
        while (true)
        {
            HttpResponseMessage response;
            try
            {
                response = await api.OpenEventStreamAsync(path, lastEventId, cancellationToken);
            }
            catch (CliException e) when (e.ExitCode == ExitCodes.ServerOrNetwork && jobId is not null && failures < MaxReconnects)
            {
                await BackOffAsync(++failures, time, cancellationToken);
                continue;
            }

            using (response)
            {
                if (jobId is null && response.Headers.TryGetValues("X-InstaDeploy-Job-Id", out var ids)) jobId = ids.FirstOrDefault();
                if (jobId is not null) path = $"/jobs/{InstaDeployApiClient.Escape(jobId)}/logs?follow=true";
                var resumedById = lastEventId is not null;
                long offset = 0; // where this connection's text starts in the job's log, when it replays from the start
                try
                {
                    await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                    await foreach (var message in ServerSentEvents.ReadAsync(stream, cancellationToken))
                    {
                        failures = 0;
                        if (message.Id is not null) lastEventId = message.Id;
                        switch (message.Event)
                        {
                            case "log":
                                var text = message.Data + "\n";
                                var fresh = resumedById ? text : Unwritten(text, offset, written.Length);
                                offset += text.Length;
                                if (fresh.Length > 0)
                                {
                                    written.Append(fresh);
                                    await write(fresh);
                                }
                                break;
                            case "reset":
                                // The job's final log differs from what was streamed (the agent's final answer replaced it).
                                var full = message.Data.Length == 0 ? "" : message.Data + "\n";
                                var already = written.ToString();
                                if (full.StartsWith(already, StringComparison.Ordinal))
                                {
                                    if (full.Length > already.Length) await write(full[already.Length..]);
                                }
                                else
                                {
                                    notice("The job's final output differs from what was streamed; here it is in full:");
                                    await write(full);
                                }
                                written.Clear().Append(full);
                                offset = full.Length;
                                break;
                            case "end":
                                return ReadEnd(jobId ?? "", message.Data);
                        }
                    }
                }
                catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
                {
                    // The connection dropped: reopen it below.
                }
            }

            if (jobId is null || ++failures > MaxReconnects)
                throw new CliException(ExitCodes.ServerOrNetwork,
                    $"The output stream{(jobId is null ? "" : $" of job {jobId}")} from {api.BaseUrl} broke and could not be resumed" +
                    (jobId is null ? "." : $"; follow it again with `instadeploy jobs logs -f {jobId}`."));
            await BackOffAsync(failures, time, cancellationToken);
        }
    }

    /// <summary>The part of <paramref name="text"/>, found at <paramref name="offset"/> in the replayed log, past what was written.</summary>
    private static string Unwritten(string text, long offset, int writtenLength)
    {
        if (offset + text.Length <= writtenLength) return "";
        return offset >= writtenLength ? text : text[(int)(writtenLength - offset)..];
    }

    /// <summary>The pause before reconnect <paramref name="attempt"/> (1, 2, …): 250 ms doubling up to 5 s.</summary>
    internal static Task BackOffAsync(int attempt, TimeProvider time, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 250 * Math.Pow(2, attempt - 1)));
        return Task.Delay(delay, time, cancellationToken);
    }

    private static JobEnd ReadEnd(string jobId, string data)
    {
        try
        {
            using var document = JsonDocument.Parse(data);
            var root = document.RootElement;
            return new JobEnd(jobId,
                root.TryGetProperty("status", out var s) ? s.GetString() ?? "" : "",
                root.TryGetProperty("error", out var e) ? e.GetString() ?? "" : "");
        }
        catch (JsonException)
        {
            return new JobEnd(jobId, "", "");
        }
    }

    /// <summary>Waits for a job to end without streaming its output.</summary>
    public async Task<JsonElement> WaitAsync(string jobId, CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            try
            {
                var job = await api.GetAsync($"/jobs/{InstaDeployApiClient.Escape(jobId)}", cancellationToken);
                failures = 0;
                if (JobStatuses.IsTerminal(job.GetProperty("status").GetString())) return job;
            }
            catch (CliException e) when (e.ExitCode == ExitCodes.ServerOrNetwork && ++failures <= MaxReconnects)
            {
                // A passing outage while the job runs on: keep waiting.
            }
            await Task.Delay(TimeSpan.FromMilliseconds(400), time, cancellationToken);
        }
    }
}
