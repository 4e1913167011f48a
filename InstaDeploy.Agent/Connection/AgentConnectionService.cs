using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using InstaDeploy.Agent.Commands;
using InstaDeploy.Agent.PluginHost;
using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.Connection;

/// <summary>
/// Holds the one outbound WebSocket to the control plane: dials with the seed's handshake headers, reconnects with
/// backoff and jitter, keeps the line alive with pings, and hands each command to the <see cref="CommandRunner"/>.
/// </summary>
internal sealed class AgentConnectionService(
    AgentOptions options,
    CommandRunner runner,
    JobJournal journal,
    AgentCredentialProvider credentials,
    PluginCatalog plugins,
    AgentTelemetry telemetry,
    Updates.AgentUpdater updater,
    TimeProvider time,
    ILogger<AgentConnectionService> logger) : BackgroundService
{
    private const int MaxCommandBytes = 64 * 1024 * 1024;
    private readonly ReconnectBackoff _backoff = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly HashSet<Task> _running = [];
    private volatile ClientWebSocket? _socket;
    private bool _everConnected;
    private volatile bool _serverTakesPlugins;

    private volatile bool _serverTakesAcks;
    private volatile bool _serverTakesStop;
    private volatile bool _serverTakesMetrics;

    /// <summary>This process's own id, so a control plane can tell a second process configured as the same agent.</summary>
    private readonly string _instance = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    /// <summary>Set while the agent drains before it stops: commands that still arrive are left for the next start.</summary>
    private volatile bool _draining;

    /// <summary>Cancelled once the agent has drained: running jobs get this long to finish when the agent stops.</summary>
    private readonly CancellationTokenSource _jobsStopping = new();
    private static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(25);

    /// <summary>What a seed server takes (its README names no limit): the limit our control plane has by default.</summary>
    private const int SeedMessageBytes = 16 * 1024 * 1024;

    /// <summary>The largest message the control plane takes (it says so on the upgrade); output and results stay under it.</summary>
    public int MaxMessageBytes { get; private set; } = SeedMessageBytes;

    /// <summary>Whether the agent is connected right now.</summary>
    public bool IsConnected => _socket?.State == WebSocketState.Open;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        plugins.Changed += OnPluginsChanged;
        updater.StopTakingCommands += StopTakingCommandsAsync;
        updater.TakeOverUpdateInProgress(); // an update job this process completes is not an interrupted one
        TryReportInterruptedJobs();
        // Stopping the agent does not cut running jobs short: they get DrainTime to finish, and their results are
        // journaled and sent after the next start if the connection is gone by then.
        await using var drain = stoppingToken.Register(() => _jobsStopping.CancelAfter(DrainTime));
        while (!stoppingToken.IsCancellationRequested)
        {
            var connectedAt = (DateTimeOffset?)null;
            string reason;
            var unauthorized = false;
            var taken = false;
            using var connectionEnd = new CancellationTokenSource();
            using (var socket = new ClientWebSocket())
            {
                try
                {
                    Configure(socket, await credentials.GetTokenAsync(stoppingToken));
                    using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                    {
                        connectTimeout.CancelAfter(TimeSpan.FromSeconds(15));
                        await socket.ConnectAsync(options.ServerUrl, connectTimeout.Token);
                    }
                    connectedAt = time.GetUtcNow();
                    _socket = socket;
                    if (_everConnected) telemetry.Reconnected();
                    _everConnected = true;
                    var features = socket.HttpResponseHeaders?.TryGetValue(HandshakeHeaders.Features, out var values) == true
                        ? values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries)).ToHashSet()
                        : [];
                    _serverTakesPlugins = features.Contains(HandshakeHeaders.FeatureAgentPlugins);
                    _serverTakesAcks = features.Contains(HandshakeHeaders.FeatureReliableDelivery);
                    _serverTakesStop = features.Contains(HandshakeHeaders.FeatureGracefulStop);
                    _serverTakesMetrics = features.Contains(HandshakeHeaders.FeatureAgentMetrics);
                    MaxMessageBytes = socket.HttpResponseHeaders?.TryGetValue(HandshakeHeaders.MaxMessageBytes, out var limit) == true
                        && int.TryParse(limit.FirstOrDefault(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bytes) && bytes >= 4096
                            ? bytes
                            : SeedMessageBytes;
                    if (socket.HttpResponseHeaders?.TryGetValue(HandshakeHeaders.AgentKey, out var issued) == true && issued.FirstOrDefault() is { Length: > 0 } key
                        && features.Contains(HandshakeHeaders.FeatureAgentKey))
                    {
                        // Trust on first use: from now on this id is ours alone. Stored before the control plane is told.
                        await credentials.StoreIssuedKeyAsync(key, stoppingToken);
                        await SendBytesAsync(WireJson.Serialize(new AgentKeyStoredMessage()), "key stored");
                    }
                    TryReportInterruptedJobs(); // those that could not be journaled at start (a full disk)
                    await SendPluginsAsync();
                    updater.ConfirmIfUpdated(); // a new version: connected; its result goes out with the held ones
                    await SendStateAndHeldResultsAsync();
                    if (_draining && _serverTakesStop) // connected again while an update waits for its jobs
                        await SendBytesAsync(WireJson.Serialize(new AgentShuttingDownMessage { DrainSeconds = (int)DrainTime.TotalSeconds }), "shutting down");
                    logger.Connected(options.ServerUrl, options.Hostname);
                    // Told to stop: to a control plane that takes it, say so first, keep the connection while the running
                    // jobs finish and their results go out, then close. To a seed server, close at once (as before): its
                    // commands would otherwise be left unanswered; the results go after the next start.
                    await using var onStop = stoppingToken.Register(() => _ = _serverTakesStop ? DrainThenCloseAsync(connectionEnd) : connectionEnd.CancelAsync());
                    using var resends = CancellationTokenSource.CreateLinkedTokenSource(connectionEnd.Token);
                    var resending = _serverTakesAcks ? ResendHeldResultsAsync(resends.Token) : Task.CompletedTask;
                    try
                    {
                        reason = await ReceiveCommandsAsync(socket, connectionEnd.Token);
                    }
                    finally
                    {
                        await resends.CancelAsync();
                        await resending;
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    await CloseQuietlyAsync(socket);
                    break;
                }
                catch (EnrollmentException e)
                {
                    reason = e.Message;
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or HttpRequestException)
                {
                    unauthorized = socket.HttpStatusCode == HttpStatusCode.Unauthorized;
                    taken = socket.HttpStatusCode == HttpStatusCode.Conflict;
                    reason = socket.HttpStatusCode is { } code && code != 0
                        ? $"HTTP {(int)code} {code}"
                        : e is OperationCanceledException ? "timed out" : e.InnerException?.Message ?? e.Message;
                }
                finally
                {
                    _socket = null;
                }
            }

            if (connectedAt is { } since)
            {
                logger.Disconnected(options.ServerUrl, reason);
                _backoff.ConnectionEnded(time.GetUtcNow() - since);
            }
            var delay = _backoff.Next();
            if (unauthorized) logger.Unauthorized(options.ServerUrl, delay.TotalSeconds);
            else if (taken) logger.IdTaken(options.ServerUrl, options.Hostname, delay.TotalSeconds);
            else if (connectedAt is null) logger.ConnectFailed(options.ServerUrl, reason, delay.TotalSeconds);
            try
            {
                await Task.Delay(delay, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        plugins.Changed -= OnPluginsChanged;
        Task[] running;
        lock (_running) running = [.. _running];
        await Task.WhenAll(running);
    }

    private void Configure(ClientWebSocket socket, string token)
    {
        socket.Options.CollectHttpResponseDetails = true;
        if (AgentTls.Validator(options) is { } validator) socket.Options.RemoteCertificateValidationCallback = validator;
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
        socket.Options.KeepAliveTimeout = TimeSpan.FromSeconds(20);
        socket.Options.SetRequestHeader(HandshakeHeaders.Authorization, "Bearer " + token);
        socket.Options.SetRequestHeader(HandshakeHeaders.AgentVersion, options.Version);
        socket.Options.SetRequestHeader(HandshakeHeaders.AgentArchitecture, options.Architecture);
        socket.Options.SetRequestHeader(HandshakeHeaders.AgentHostname, options.Hostname);
        socket.Options.SetRequestHeader(HandshakeHeaders.AgentInstance, _instance);
        socket.Options.SetRequestHeader(HandshakeHeaders.AgentFeatures, $"{HandshakeHeaders.FeatureReliableDelivery}, {HandshakeHeaders.FeatureProjectConfig}, {HandshakeHeaders.FeatureAgentKey}, {HandshakeHeaders.FeatureRegistryAuth}, {HandshakeHeaders.FeatureAgentUpdates}");
        if (options.Labels.Count > 0) socket.Options.SetRequestHeader(HandshakeHeaders.AgentLabels, AgentLabels.Format(options.Labels));
    }

    private async Task<string> ReceiveCommandsAsync(ClientWebSocket socket, CancellationToken stoppingToken)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        while (socket.State == WebSocketState.Open)
        {
            buffer.ResetWrittenCount();
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.GetMemory(16 * 1024), stoppingToken);
                buffer.Advance(result.Count);
                if (buffer.WrittenCount > MaxCommandBytes)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, "command too large", stoppingToken);
                    return "the control plane sent a command over the size limit";
                }
            } while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                await CloseQuietlyAsync(socket);
                return $"closed by the control plane ({socket.CloseStatus} {socket.CloseStatusDescription})";
            }
            if (result.MessageType != WebSocketMessageType.Text) continue;

            telemetry.MessageIn(buffer.WrittenCount);
            AgentCommand command;
            try
            {
                command = WireJson.ParseCommand(buffer.WrittenSpan);
            }
            catch (WireFormatException e)
            {
                logger.BadCommand(e.Message);
                continue;
            }
            if (command.Type == CommandTypes.Ack && _serverTakesAcks)
            {
                journal.Acknowledge(command.Id);
                continue;
            }
            Start(command, _jobsStopping.Token);
        }
        return $"socket {socket.State}";
    }

    private void Start(AgentCommand command, CancellationToken stoppingToken)
    {
        // While draining, a command that still arrived is not run: the control plane sends it again after the next start.
        if (_draining) return;
        // Called directly (not through Task.Run) so the command is queued behind earlier ones for its project now.
        var task = runner.RunAsync(command, SendAsync, MaxMessageBytes, stoppingToken);
        lock (_running) _running.Add(task);
        task.ContinueWith(t => { lock (_running) _running.Remove(t); }, TaskScheduler.Default);
    }

    private void OnPluginsChanged() => _ = SendPluginsAsync();

    /// <summary>Stores FAILED results for jobs interrupted by the last stop; a full disk is logged and tried again at the
    /// next connect, never a reason not to start.</summary>
    private void TryReportInterruptedJobs()
    {
        try
        {
            runner.ReportInterruptedJobs();
        }
        catch (IOException e)
        {
            logger.JournalUnwritable(e.Message);
        }
    }

    /// <summary>An update waits for the running jobs before this version stops: from now on it starts no new command and,
    /// to a control plane that takes it, says it stops, so that commands sent meanwhile wait for the next version.</summary>
    private async Task StopTakingCommandsAsync()
    {
        if (_draining) return;
        _draining = true;
        if (_serverTakesStop && IsConnected)
            await SendBytesAsync(WireJson.Serialize(new AgentShuttingDownMessage { DrainSeconds = (int)DrainTime.TotalSeconds }), "shutting down");
    }

    /// <summary>Says the agent stops, lets the running jobs finish (their results go out on this connection), then ends it.</summary>
    private async Task DrainThenCloseAsync(CancellationTokenSource connectionEnd)
    {
        _draining = true;
        await SendBytesAsync(WireJson.Serialize(new AgentShuttingDownMessage { DrainSeconds = (int)DrainTime.TotalSeconds }), "shutting down");
        Task[] running;
        lock (_running) running = [.. _running];
        await Task.WhenAny(Task.WhenAll(running), Task.Delay(DrainTime + TimeSpan.FromSeconds(2), time));
        await connectionEnd.CancelAsync();
    }

    /// <summary>
    /// While connected: results the control plane has not acknowledged (its store failed, say) are sent again, 30 s after
    /// they were written and then with backoff to 5 min; the control plane applies a result once, and acknowledges a repeat.
    /// </summary>
    private async Task ResendHeldResultsAsync(CancellationToken cancellationToken)
    {
        var attempts = new Dictionary<string, (int Count, DateTimeOffset Due)>(StringComparer.Ordinal);
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(10), time, cancellationToken);
                var now = time.GetUtcNow();
                foreach (var jobId in journal.HeldResultsOlderThan(TimeSpan.FromSeconds(30)))
                {
                    var (count, due) = attempts.TryGetValue(jobId, out var known) ? known : (0, now);
                    if (due > now || journal.StoredResult(jobId) is not { } bytes) continue;
                    if (!await SendBytesAsync(bytes, jobId)) return;
                    attempts[jobId] = (count + 1, now + TimeSpan.FromSeconds(Math.Min(300, 30 << Math.Min(count + 1, 4))));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Sends a metrics sample to a control plane that takes it (never a seed server); dropped when not connected.</summary>
    public async Task SendMetricsAsync(AgentMetricsMessage sample)
    {
        if (!_serverTakesMetrics || !IsConnected) return;
        await SendBytesAsync(WireJson.Serialize(sample), "metrics");
    }

    /// <summary>Tells a control plane that takes it (never a seed server) which plugins are loaded now.</summary>
    private async Task SendPluginsAsync()
    {
        if (!_serverTakesPlugins) return;
        var message = new AgentPluginsMessage
        {
            Plugins = [.. plugins.Plugins.Select(p => new PluginInfo { Name = p.Name, Version = p.Version, CommandTypes = p.CommandTypes })],
        };
        await SendBytesAsync(WireJson.Serialize(message), "plugins");
    }

    /// <summary>
    /// After connecting: tell a control plane that takes it which jobs run here and which results are held, then send
    /// those results (oldest first). A seed server gets the results only, and they are forgotten once sent.
    /// </summary>
    private async Task SendStateAndHeldResultsAsync()
    {
        var held = journal.HeldResults;
        if (_serverTakesAcks)
            await SendBytesAsync(WireJson.Serialize(new AgentStateMessage { Running = journal.Running, Results = held }), "state");
        foreach (var jobId in held)
        {
            if (journal.StoredResult(jobId) is not { } bytes) continue;
            if (!await SendBytesAsync(bytes, jobId)) return; // disconnected again: the next connect sends the rest
            if (!_serverTakesAcks) journal.Acknowledge(jobId);
        }
    }

    /// <summary>
    /// Sends a response on the current connection. A final response is already in the journal, so one that cannot be
    /// sent now is sent after the next connect; progress (RUNNING) is not kept, as the final response repeats it.
    /// </summary>
    private async Task SendAsync(AgentResponse response, CancellationToken cancellationToken)
    {
        var sent = await SendBytesAsync(WireJson.Serialize(response), response.JobId);
        if (sent && response.Status != JobStatuses.Running && !_serverTakesAcks) journal.Acknowledge(response.JobId);
    }

    private async Task<bool> SendBytesAsync(byte[] bytes, string what)
    {
        await _sendLock.WaitAsync(CancellationToken.None);
        try
        {
            var socket = _socket;
            if (socket is null || socket.State != WebSocketState.Open)
            {
                logger.SendFailed(what, "not connected; a final result is sent after the next connect");
                return false;
            }
            using var sendTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, sendTimeout.Token);
            telemetry.MessageOut(bytes.Length);
            return true;
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            logger.SendFailed(what, e.Message);
            return false;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private static async Task CloseQuietlyAsync(ClientWebSocket socket)
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "agent stopping", timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
