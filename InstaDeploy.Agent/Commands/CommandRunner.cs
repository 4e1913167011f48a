using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using InstaDeploy.Agent.PluginHost;
using InstaDeploy.Agent.Plugins;
using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.Commands;

/// <summary>
/// Runs one command with the plugin handler for its type: one project at a time, output streamed back as
/// <c>RUNNING</c> responses while it runs, then one final <c>COMPLETED</c>/<c>FAILED</c> response carrying all
/// the output, as the seed protocol's single response does.
/// </summary>
internal sealed class CommandRunner(
    PluginCatalog plugins,
    ProjectLocks projectLocks,
    JobJournal journal,
    AgentOptions options,
    IConfiguration configuration,
    ILoggerFactory loggerFactory,
    AgentTelemetry telemetry,
    TimeProvider time,
    Updates.AgentUpdater updater,
    Updates.PluginInstaller pluginInstaller,
    ILogger<CommandRunner> logger)
{
    /// <summary>Most output kept for the final response (the tail is kept), when the control plane takes it.</summary>
    private const int MaxLogChars = 1024 * 1024;

    /// <summary>Most output in one RUNNING message, when the control plane takes it.</summary>
    private const int MaxBatchChars = 256 * 1024;

    /// <summary>A longer line is cut (its end marked): one line never fills a message on its own.</summary>
    private const int MaxLineChars = 64 * 1024;

    /// <summary>Lines a handler may have waiting to be sent; past it, the handler's next line waits for the network
    /// (the output channel is bounded, so a command that prints faster than the link carries cannot fill memory).</summary>
    private const int MaxQueuedLines = 10_000;

    /// <summary>
    /// Runs the command. Call it in the order commands arrive: a command takes its place in its project's queue
    /// before this method first awaits, so two commands for one project run in the order they were received.
    /// </summary>
    /// <param name="command">The command.</param>
    /// <param name="send">Sends a response on the current connection.</param>
    /// <param name="maxMessageBytes">The largest message the control plane takes: output batches and the final result
    /// stay well under it (a character may take several bytes, and JSON escapes some).</param>
    /// <param name="stoppingToken">Cancelled when the agent stops.</param>
    public async Task RunAsync(AgentCommand command, Func<AgentResponse, CancellationToken, Task> send, int maxMessageBytes, CancellationToken stoppingToken)
    {
        ActivityContext.TryParse(command.TraceParent, null, out var parent);
        using var activity = AgentTelemetry.ActivitySource.StartActivity($"handle {command.Type}", ActivityKind.Consumer, parent);
        activity?.SetTag(TelemetryTags.JobId, command.Id);
        activity?.SetTag(TelemetryTags.CommandType, command.Type);
        activity?.SetTag(TelemetryTags.AgentId, options.Hostname);

        // At most once per job id: a command sent again (after a reconnect) is answered, not run again.
        switch (journal.Admit(command.Id))
        {
            case JobJournal.Admission.AlreadyRunning:
                return;
            case JobJournal.Admission.AlreadyFinished:
                if (journal.StoredResult(command.Id) is { } stored) await send(WireJson.ParseResponse(stored), stoppingToken);
                return;
            case JobJournal.Admission.CannotRecord:
                // Not run: unrecorded, it could run a second time after a restart. Answered now, not kept.
                logger.JournalUnwritable(journal.LastFailure ?? "unknown");
                await send(new AgentResponse
                {
                    JobId = command.Id,
                    Status = JobStatuses.Failed,
                    Error = $"the agent cannot record the job in its journal (AGENT_STATE_DIR: {journal.LastFailure}); it did not run. Free space on the agent's disk, then run it again.",
                }, stoppingToken);
                return;
        }

        // Built in, not plugins: they replace the agent or its plugins, and check the operator's signature themselves.
        if (command.Type is CommandTypes.UpdateAgent or CommandTypes.InstallPlugin or CommandTypes.RemovePlugin)
        {
            AgentResponse? outcome;
            try
            {
                outcome = command.Type == CommandTypes.UpdateAgent
                    ? await updater.RunAsync(command, stoppingToken)
                    : await pluginInstaller.RunAsync(command, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                outcome = new AgentResponse { JobId = command.Id, Status = JobStatuses.Failed, Error = "the agent is shutting down; the command was cancelled" };
            }
            logger.JobFinished(command.Id, command.Type, outcome?.Status ?? "open until the new version confirms");
            if (outcome is not null) await SendFinalAsync(send, command.Id, outcome.Status, outcome.Logs, outcome.Error, outcome.Result, stoppingToken);
            return;
        }

        if (!plugins.TryAcquire(command.Type, out var lease))
        {
            var known = plugins.CommandTypes;
            var error = $"unknown command type '{command.Type}'; this agent runs: {(known.Count == 0 ? "(none: no plugins loaded)" : string.Join(", ", known))}";
            activity?.SetStatus(ActivityStatusCode.Error, error);
            await SendFinalAsync(send, command.Id, JobStatuses.Failed, "", error, null, stoppingToken);
            return;
        }
        using var leased = lease;
        var pluginName = lease.PluginName;
        activity?.SetTag(TelemetryTags.Plugin, pluginName);

        // The job's time runs from now, queueing behind earlier jobs of its project included, as the control plane counts it.
        var limit = command.TimeoutSeconds is > 0 and var seconds && TimeSpan.FromSeconds(seconds) < options.JobTimeout
            ? TimeSpan.FromSeconds(seconds)
            : options.JobTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(limit);

        var project = ProjectOf(command.Payload);
        if (project is not null) activity?.SetTag(TelemetryTags.Project, project);
        // Reading container logs changes nothing and may follow for minutes: it must not hold up (or wait for) a deploy.
        if (command.Type == CommandTypes.Logs) project = null;
        // Locked by compose project name: "App" and "app" are one compose project, so they never run at once.
        // The call queues this job now, before the first await, so jobs of one project keep their arrival order.
        var projectLockTask = project is null ? null : projectLocks.AcquireAsync(ComposeCli.ComposeProjectName(project), timeout.Token);
        IDisposable? projectLock = null;
        var output = new OutputStream(command.Id, send, Math.Min(MaxLogChars, maxMessageBytes / 8), Math.Min(MaxBatchChars, maxMessageBytes / 8), timeout.Token);
        var started = time.GetTimestamp();

        string status, error2 = "";
        JsonElement? data = null;
        string? summary = null;
        CommandContext? context = null;
        try
        {
            if (projectLockTask is not null) projectLock = await projectLockTask;
            await Task.Yield(); // the handler never runs on the caller's (the receive loop's) thread
            logger.JobStarted(command.Id, command.Type);
            context = new CommandContext(
                command.Id, command.Type, command.Payload, options.ProjectsDirectory, configuration,
                loggerFactory.CreateLogger($"InstaDeploy.Agent.Plugin.{pluginName}"), output.WriteLineAsync, timeout.Token);
            foreach (var secret in SecretsIn(command.Payload)) context.AddSecret(secret);
            var result = await RunHandlerAsync(lease.Handler, context, timeout.Token);
            status = result.Succeeded ? JobStatuses.Completed : JobStatuses.Failed;
            error2 = result.Error;
            data = result.Data;
            summary = result.Summary;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            status = JobStatuses.Failed;
            error2 = stoppingToken.IsCancellationRequested
                ? "the agent is shutting down; the command was cancelled"
                : projectLock is null && projectLockTask is not null
                    ? $"earlier jobs of project '{project}' were still running when this job's time limit of {limit.TotalSeconds:0} s ran out; it did not run"
                    : $"the command did not finish within its time limit of {limit.TotalSeconds:0} s and was cancelled";
        }
        catch (CommandPayloadException e)
        {
            status = JobStatuses.Failed;
            error2 = $"invalid payload for {command.Type}: {e.Message}";
        }
        catch (Exception e)
        {
            logger.HandlerThrew(e, command.Id, command.Type);
            status = JobStatuses.Failed;
            error2 = $"plugin {pluginName} failed: {e.GetType().Name}: {e.Message}";
        }

        try
        {
            if (context is not null)
            {
                // Whatever a handler put in its error, summary or result passes the same redaction as its output lines.
                error2 = context.Redact(error2);
                summary = summary is null ? null : context.Redact(summary);
                if (data is { } d) data = RedactStrings(d, context);
            }
            var logs = await output.CompleteAsync(summary);
            if (status == JobStatuses.Failed) activity?.SetStatus(ActivityStatusCode.Error, error2);
            logger.JobFinished(command.Id, command.Type, status);
            telemetry.CommandFinished(command.Type, status, time.GetElapsedTime(started));
            await SendFinalAsync(send, command.Id, status, logs, error2, data, stoppingToken);
        }
        finally
        {
            // Held until the result is on its way, so the project's next job starts after this one is reported.
            projectLock?.Dispose();
        }
    }

    /// <summary>
    /// Runs the handler; if it ignores cancellation and is still running a grace period after its deadline, the job
    /// is reported as failed and the handler abandoned, so one hung plugin cannot hold a job (or its project) forever.
    /// </summary>
    private async Task<CommandResult> RunHandlerAsync(ICommandHandler handler, CommandContext context, CancellationToken deadline)
    {
        var run = Task.Run(() => handler.HandleAsync(context), CancellationToken.None);
        var abandon = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = deadline.Register(() =>
            _ = Task.Delay(options.HandlerGracePeriod, time).ContinueWith(_ => abandon.TrySetResult(), TaskScheduler.Default));
        if (await Task.WhenAny(run, abandon.Task) == run) return await run;
        _ = run.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted); // observe a late failure
        throw new OperationCanceledException("the handler did not stop after cancellation", deadline);
    }

    /// <summary>The result with every string value redacted; names, numbers and structure stay as they are, so a short
    /// secret cannot break the JSON (property names come from the handler's code, not from data).</summary>
    private static JsonElement RedactStrings(JsonElement data, CommandContext context)
    {
        static System.Text.Json.Nodes.JsonNode? Walk(System.Text.Json.Nodes.JsonNode? node, CommandContext context) => node switch
        {
            System.Text.Json.Nodes.JsonObject o => new System.Text.Json.Nodes.JsonObject(o.Select(p =>
                KeyValuePair.Create(p.Key, Walk(p.Value, context)))),
            System.Text.Json.Nodes.JsonArray a => new System.Text.Json.Nodes.JsonArray([.. a.Select(item => Walk(item, context))]),
            System.Text.Json.Nodes.JsonValue v when v.GetValueKind() == JsonValueKind.String => System.Text.Json.Nodes.JsonValue.Create(context.Redact(v.GetValue<string>())),
            _ => node?.DeepClone(),
        };
        return JsonSerializer.SerializeToElement(Walk(System.Text.Json.Nodes.JsonNode.Parse(data.GetRawText()), context));
    }

    /// <summary>The values of the payload's <c>env</c> entries marked secret: redacted from everything the job reports.</summary>
    private static IEnumerable<string> SecretsIn(JsonElement payload)
    {
        if (payload.ValueKind != JsonValueKind.Object || !payload.TryGetProperty(DeployPayload.Env, out var env) || env.ValueKind != JsonValueKind.Array)
            yield break;
        foreach (var variable in env.EnumerateArray())
        {
            if (variable.ValueKind == JsonValueKind.Object
                && variable.TryGetProperty("secret", out var secret) && secret.ValueKind == JsonValueKind.True
                && variable.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.String)
                yield return value.GetString()!;
        }
    }

    private static string? ProjectOf(JsonElement payload) =>
        payload.ValueKind == JsonValueKind.Object
        && payload.TryGetProperty("project_name", out var name)
        && name.ValueKind == JsonValueKind.String
        && ProjectNames.IsValid(name.GetString())
            ? name.GetString()
            : null;

    /// <summary>Stores the final response (so it survives a disconnect or a restart), then sends it.</summary>
    private Task SendFinalAsync(Func<AgentResponse, CancellationToken, Task> send, string jobId, string status, string logs, string error, JsonElement? data, CancellationToken cancellationToken)
    {
        var response = new AgentResponse { JobId = jobId, Status = status, Logs = logs, Error = error, Result = data };
        if (!journal.Finish(jobId, WireJson.Serialize(response))) logger.JournalUnwritable(journal.LastFailure ?? "unknown"); // sent now, not kept
        return send(response, cancellationToken);
    }

    /// <summary>Stores FAILED results for jobs that were running when the agent last stopped; they are never run again.</summary>
    public void ReportInterruptedJobs()
    {
        foreach (var jobId in journal.InterruptedJobs())
        {
            logger.JobInterrupted(jobId);
            if (!journal.Finish(jobId, WireJson.Serialize(new AgentResponse
            {
                JobId = jobId,
                Status = JobStatuses.Failed,
                Error = $"{JobStatuses.InterruptedPrefix} the agent stopped (crash, kill or restart) while this job ran; it was not run again. The project may be partly changed: check it with STATUS.",
            })))
                throw new IOException(journal.LastFailure ?? "the journal cannot be written"); // tried again at the next connect
        }
    }

    /// <summary>
    /// Collects a job's output. Lines are sent as soon as the previous send finished, batched while one is in flight,
    /// so a chatty command never waits on the network and a quiet one is seen live.
    /// </summary>
    private sealed class OutputStream
    {
        private readonly string _jobId;
        private readonly Func<AgentResponse, CancellationToken, Task> _send;
        private readonly int _maxLogChars;
        private readonly int _maxBatchChars;
        private readonly Channel<string> _lines = Channel.CreateBounded<string>(new BoundedChannelOptions(MaxQueuedLines) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        private readonly StringBuilder _all = new();
        private readonly Task _pump;

        public OutputStream(string jobId, Func<AgentResponse, CancellationToken, Task> send, int maxLogChars, int maxBatchChars, CancellationToken cancellationToken)
        {
            _jobId = jobId;
            _send = send;
            _maxLogChars = Math.Max(1024, maxLogChars);
            _maxBatchChars = Math.Max(1024, maxBatchChars);
            _pump = PumpAsync(cancellationToken);
        }

        public ValueTask WriteLineAsync(string line, CancellationToken cancellationToken)
        {
            var limit = Math.Min(MaxLineChars, _maxBatchChars - 1);
            if (line.Length > limit) line = line[..(limit - 20)] + " … [line cut]";
            lock (_all)
            {
                _all.Append(line).Append('\n');
                if (_all.Length > _maxLogChars) _all.Remove(0, _all.Length - _maxLogChars);
            }
            return _lines.Writer.WriteAsync(line, cancellationToken);
        }

        public async Task<string> CompleteAsync(string? summary)
        {
            if (summary is not null) await WriteLineAsync(summary, CancellationToken.None);
            _lines.Writer.TryComplete();
            try { await _pump; } catch (OperationCanceledException) { }
            lock (_all) return _all.ToString();
        }

        private async Task PumpAsync(CancellationToken cancellationToken)
        {
            var batch = new StringBuilder();
            while (await _lines.Reader.WaitToReadAsync(CancellationToken.None))
            {
                batch.Clear();
                // A batch ends at the size one message may carry; the rest goes in the next.
                while (batch.Length < _maxBatchChars && _lines.Reader.TryPeek(out var next) && (batch.Length == 0 || batch.Length + next.Length < _maxBatchChars))
                {
                    _lines.Reader.TryRead(out _);
                    batch.Append(next).Append('\n');
                }
                if (cancellationToken.IsCancellationRequested) continue;
                await _send(new AgentResponse { JobId = _jobId, Status = JobStatuses.Running, Logs = batch.ToString() }, cancellationToken);
            }
        }
    }
}
