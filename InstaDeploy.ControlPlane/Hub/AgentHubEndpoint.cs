using System.Diagnostics;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Agents;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Delivery;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Hub;

/// <summary>The agents' WebSocket endpoint, <c>/ws</c>: authenticate, register, receive responses until the agent goes.</summary>
public static class AgentHubEndpoint
{
    public static IEndpointRouteBuilder MapAgentHub(this IEndpointRouteBuilder app)
    {
        app.Map("/ws", HandleAsync).ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> HandleAsync(
        HttpContext context,
        AgentCredentials credentials,
        AgentConnectionRegistry registry,
        AgentStore agents,
        JobStore jobs,
        IOptions<ControlPlaneOptions> options,
        IHostApplicationLifetime lifetime,
        ControlPlaneMetrics metrics,
        JobDispatcher dispatcher,
        JobEvents events,
        TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger("InstaDeploy.ControlPlane.Hub");
        var remoteIp = context.Connection.RemoteIpAddress?.ToString();

        // The credentials are checked before anything else, so an unauthenticated caller learns nothing but 401.
        var hostname = context.Request.Headers[HandshakeHeaders.AgentHostname].ToString();
        var authentication = AgentIds.IsValid(hostname)
            ? await credentials.AuthenticateAsync(context.Request.Headers.Authorization, hostname, context.RequestAborted)
            : AgentAuthentication.Refused("missing or invalid X-Agent-Hostname");
        if (authentication.Refusal is { } refusal)
        {
            logger.AgentRefused(remoteIp, refusal);
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: "Send 'Authorization: Bearer <token>' with the agent's own key or the control plane's AGENT_SECRET_TOKEN (accepted only for an agent id that has no key of its own), and a valid X-Agent-Hostname. A revoked agent is refused.");
        }
        if (!context.WebSockets.IsWebSocketRequest)
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "WebSocket upgrade required",
                detail: "/ws is the agents' WebSocket endpoint; connect with a WebSocket client.");

        var version = Printable(context.Request.Headers[HandshakeHeaders.AgentVersion].ToString(), 64);
        var architecture = Printable(context.Request.Headers[HandshakeHeaders.AgentArchitecture].ToString(), 64);

        // Announced labels are bounded and checked before they are stored or logged; invalid ones keep the stored labels.
        var (labels, labelsError) = AgentLabels.Parse(Printable(context.Request.Headers[HandshakeHeaders.AgentLabels].ToString(), AgentLabels.MaxTextLength + 1));
        if (labelsError is not null) logger.AgentLabelsRefused(hostname, labelsError);

        var settings = options.Value;
        var capabilities = new AgentCapabilities(context.Request.Headers[HandshakeHeaders.AgentFeatures].ToString()
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Take(32).Select(f => Printable(f, 64)).ToHashSet(StringComparer.Ordinal));
        var reliable = capabilities.ReliableDelivery;

        // An agent that takes a key of its own and came with the shared token gets one now (trust on first use); its
        // connection's credential is that key from the start, so nobody else with the shared token can take the id
        // while it is connected, nor afterwards once it has stored the key.
        string? issuedKey = null;
        var keyHash = authentication.KeyHash;
        if (authentication.IsShared && capabilities.Has(HandshakeHeaders.FeatureAgentKey))
        {
            issuedKey = AgentCredentials.NewAgentKey();
            keyHash = Infrastructure.Secrets.Hash(issuedKey);
        }
        var identity = AgentAuthentication.Identity(keyHash);
        var instance = context.Request.Headers[HandshakeHeaders.AgentInstance].ToString() is { Length: > 0 and <= 64 } announced && announced.All(char.IsAsciiLetterOrDigit)
            ? announced : null;
        if (registry.HeldByOtherProcess(hostname, identity, instance) is { } other)
        {
            // Two live processes configured as one agent would take the id (and each other's jobs) in turns forever.
            logger.AgentRefused(remoteIp, $"agent id {hostname} is connected now from another agent process");
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Agent id in use",
                detail: $"Agent id '{hostname}' is connected now from another running agent process (connected since {other.ConnectedAt:u}); two processes cannot be one agent. Give this agent its own AGENT_HOSTNAME, or stop the other one.");
        }
        if (registry.HeldByOtherCredential(hostname, identity))
        {
            logger.AgentRefused(remoteIp, $"agent id {hostname} is connected now with another credential");
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Agent id in use",
                detail: $"Agent id '{hostname}' is connected now with another credential; a second agent cannot take it over. Give this agent its own AGENT_HOSTNAME.");
        }
        if (issuedKey is not null)
        {
            await credentials.IssueKeyAsync(hostname, keyHash!, context.RequestAborted);
            context.Response.Headers[HandshakeHeaders.AgentKey] = issuedKey;
        }
        context.Response.Headers[HandshakeHeaders.Features] = $"{HandshakeHeaders.FeatureAgentPlugins}, {HandshakeHeaders.FeatureReliableDelivery}, {HandshakeHeaders.FeatureAgentKey}, {HandshakeHeaders.FeatureGracefulStop}, {HandshakeHeaders.FeatureAgentMetrics}";
        context.Response.Headers[HandshakeHeaders.MaxMessageBytes] = settings.MaxMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = TimeSpan.FromSeconds(settings.AgentPingSeconds),
            KeepAliveTimeout = TimeSpan.FromSeconds(settings.AgentPingSeconds * settings.AgentMissedPings),
        });

        // The GET /ws span covers the handshake only; the connection's lifetime is not one operation. Each job's
        // result joins the trace of the request that created the job instead (see JobStore).
        Activity.Current?.Stop();
        Activity.Current = null;

        var connection = new AgentConnection(hostname, socket, settings.MaxMessageBytes, capabilities, settings.AgentMessagesPerSecond)
        {
            CredentialIdentity = identity,
            Instance = instance,
        };
        if (!registry.TryAdd(connection, out var replaced))
        {
            // Another credential took the id between the check above and now.
            await connection.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, "agent id connected with another credential");
            return TypedResults.Empty;
        }
        var reason = "unknown";
        try
        {
            if (replaced) logger.AgentReplaced(hostname);
            var lastSeen = await agents.MarkConnectedAsync(hostname, version, architecture, labels, lifetime.ApplicationStopping);
            if (lastSeen is not null) metrics.AgentReconnected();
            logger.AgentConnected(hostname, version, architecture, remoteIp);
            // Its running jobs get back the time it was away; what waits for it goes out first: to a seed agent now, to
            // an agent that remembers jobs once it has said what it holds (AGENT_STATE).
            var away = lastSeen is { } seen ? time.GetUtcNow() - seen : TimeSpan.Zero;
            await dispatcher.AttachAsync(connection, away, lifetime.ApplicationStopping);
            if (away > TimeSpan.FromSeconds(settings.AgentPingSeconds * 2)) events.RaiseReconnected(hostname, away);

            var stateReported = false;
            reason = await connection.ReceiveAsync(async message =>
            {
                metrics.MessageIn(message.Length);
                object parsed;
                try
                {
                    parsed = WireJson.ParseAgentMessage(message.Span);
                }
                catch (WireFormatException e)
                {
                    logger.BadAgentMessage(hostname, e.Message);
                    return;
                }
                try
                {
                    switch (parsed)
                    {
                        case AgentResponse response when !JobIds.IsValid(response.JobId):
                            logger.BadAgentMessage(hostname, "a response for a job id this control plane never gives");
                            break;
                        case AgentResponse response:
                            var persisted = await jobs.ApplyResponseAsync(hostname, response, CancellationToken.None);
                            if (persisted && reliable)
                                await connection.SendAsync(WireJson.Serialize(AgentCommand.Acknowledge(response.JobId)), CancellationToken.None);
                            break;
                        case AgentStateMessage when stateReported:
                            // Once per connection: a repeated report would re-read and re-send every open job each time.
                            logger.BadAgentMessage(hostname, "a second AGENT_STATE on one connection; ignored");
                            break;
                        case AgentStateMessage state:
                            stateReported = true;
                            if (AgentReports.Bounded(state) is { } bounded) dispatcher.OnAgentState(connection, bounded);
                            else logger.BadAgentMessage(hostname, $"an AGENT_STATE with more than {AgentReports.MaxStateIds} job ids; ignored");
                            break;
                        case AgentShuttingDownMessage stopping:
                            // It finishes what runs and sends the results on this connection; new jobs wait for the next one.
                            dispatcher.OnAgentStopping(connection);
                            logger.AgentStopping(hostname, Math.Clamp(stopping.DrainSeconds, 0, 3600));
                            break;
                        case AgentPluginsMessage plugins when AgentReports.PluginsProblem(plugins) is { } problem:
                            logger.BadAgentMessage(hostname, $"a plugin list with {problem}; ignored");
                            break;
                        case AgentPluginsMessage plugins:
                            await agents.SetPluginsAsync(hostname, plugins.Plugins, CancellationToken.None);
                            break;
                        case AgentMetricsMessage sample:
                            if (!context.RequestServices.GetRequiredService<AgentMetricsStore>().Record(hostname, sample))
                                logger.BadAgentMessage(hostname, "an implausible AGENT_METRICS sample; ignored");
                            break;
                        case AgentKeyStoredMessage when keyHash is not null && issuedKey is not null:
                            if (await credentials.ConfirmKeyAsync(hostname, keyHash, CancellationToken.None)) logger.AgentKeyBound(hostname);
                            break;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.AgentMessageFailed(e, hostname);
                }
            }, lifetime.ApplicationStopping);
        }
        finally
        {
            // Not while the control plane stops: every agent would be written offline one by one (10,000 writes
            // holding up the shutdown), and the next start marks them all offline in one statement anyway.
            dispatcher.Detach(connection);
            if (registry.Remove(connection) && !lifetime.ApplicationStopping.IsCancellationRequested)
                await agents.MarkDisconnectedAsync(hostname, CancellationToken.None);
            logger.AgentDisconnected(hostname, reason);
        }
        return TypedResults.Empty;
    }

    /// <summary>What an agent announced, cut to <paramref name="length"/> and without control characters, before it is
    /// stored or logged.</summary>
    private static string Printable(string value, int length)
    {
        var cut = value.Length <= length ? value : value[..length];
        return cut.Any(char.IsControl) ? new string([.. cut.Select(c => char.IsControl(c) ? '?' : c)]) : cut;
    }
}
