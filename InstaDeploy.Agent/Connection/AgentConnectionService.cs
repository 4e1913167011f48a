using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using InstaDeploy.Agent.Commands;
using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.Connection;

/// <summary>
/// Holds the one outbound WebSocket to the control plane: dials with the seed's handshake headers, reconnects with
/// backoff and jitter, keeps the line alive with pings, and hands each command to the <see cref="CommandRunner"/>.
/// </summary>
internal sealed class AgentConnectionService(
    AgentOptions options,
    CommandRunner runner,
    AgentTelemetry telemetry,
    TimeProvider time,
    ILogger<AgentConnectionService> logger) : BackgroundService
{
    private const int MaxCommandBytes = 64 * 1024 * 1024;
    private readonly ReconnectBackoff _backoff = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly HashSet<Task> _running = [];
    private volatile ClientWebSocket? _socket;
    private bool _everConnected;

    /// <summary>Whether the agent is connected right now.</summary>
    public bool IsConnected => _socket?.State == WebSocketState.Open;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var connectedAt = (DateTimeOffset?)null;
            string reason;
            var unauthorized = false;
            using (var socket = CreateSocket())
            {
                try
                {
                    using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                    {
                        connectTimeout.CancelAfter(TimeSpan.FromSeconds(15));
                        await socket.ConnectAsync(options.ServerUrl, connectTimeout.Token);
                    }
                    connectedAt = time.GetUtcNow();
                    _socket = socket;
                    if (_everConnected) telemetry.Reconnected();
                    _everConnected = true;
                    logger.Connected(options.ServerUrl, options.Hostname);
                    reason = await ReceiveCommandsAsync(socket, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    await CloseQuietlyAsync(socket);
                    break;
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or HttpRequestException)
                {
                    unauthorized = socket.HttpStatusCode == HttpStatusCode.Unauthorized;
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

        Task[] running;
        lock (_running) running = [.. _running];
        await Task.WhenAll(running);
    }

    private ClientWebSocket CreateSocket()
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
        socket.Options.KeepAliveTimeout = TimeSpan.FromSeconds(20);
        socket.Options.SetRequestHeader(HandshakeHeaders.Authorization, "Bearer " + options.Token);
        socket.Options.SetRequestHeader(HandshakeHeaders.AgentVersion, options.Version);
        socket.Options.SetRequestHeader(HandshakeHeaders.AgentArchitecture, options.Architecture);
        socket.Options.SetRequestHeader(HandshakeHeaders.AgentHostname, options.Hostname);
        return socket;
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
            Start(command, stoppingToken);
        }
        return $"socket {socket.State}";
    }

    private void Start(AgentCommand command, CancellationToken stoppingToken)
    {
        // Called directly (not through Task.Run) so the command is queued behind earlier ones for its project now.
        var task = runner.RunAsync(command, SendAsync, stoppingToken);
        lock (_running) _running.Add(task);
        task.ContinueWith(t => { lock (_running) _running.Remove(t); }, TaskScheduler.Default);
    }

    /// <summary>Sends a response on the current connection. When there is none the response is dropped and logged;
    /// the control plane then ends the job by its timeout.</summary>
    private async Task SendAsync(AgentResponse response, CancellationToken cancellationToken)
    {
        var bytes = WireJson.Serialize(response);
        await _sendLock.WaitAsync(CancellationToken.None);
        try
        {
            var socket = _socket;
            if (socket is null || socket.State != WebSocketState.Open)
            {
                logger.SendFailed(response.JobId, "not connected");
                return;
            }
            using var sendTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, sendTimeout.Token);
            telemetry.MessageOut(bytes.Length);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            logger.SendFailed(response.JobId, e.Message);
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
