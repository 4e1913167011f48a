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
        ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger("InstaDeploy.ControlPlane.Hub");
        var remoteIp = context.Connection.RemoteIpAddress?.ToString();

        // The credentials are checked before anything else, so an unauthenticated caller learns nothing but 401.
        var hostname = context.Request.Headers[HandshakeHeaders.AgentHostname].ToString();
        var refusal = AgentIds.IsValid(hostname)
            ? await credentials.AuthenticateAsync(context.Request.Headers.Authorization, hostname, context.RequestAborted)
            : "missing or invalid X-Agent-Hostname";
        if (refusal is not null)
        {
            logger.AgentRefused(remoteIp, refusal);
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: "Send 'Authorization: Bearer <token>' with the agent's own key (from enrollment) or the control plane's AGENT_SECRET_TOKEN, and a valid X-Agent-Hostname. A revoked agent is refused.");
        }
        if (!context.WebSockets.IsWebSocketRequest)
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "WebSocket upgrade required",
                detail: "/ws is the agents' WebSocket endpoint; connect with a WebSocket client.");

        var version = Truncate(context.Request.Headers[HandshakeHeaders.AgentVersion].ToString(), 64);
        var architecture = Truncate(context.Request.Headers[HandshakeHeaders.AgentArchitecture].ToString(), 64);

        // Announced labels are bounded and checked before they are stored or logged; invalid ones keep the stored labels.
        var (labels, labelsError) = AgentLabels.Parse(Truncate(context.Request.Headers[HandshakeHeaders.AgentLabels].ToString(), AgentLabels.MaxTextLength + 1));
        if (labelsError is not null) logger.AgentLabelsRefused(hostname, labelsError);

        var settings = options.Value;
        context.Response.Headers[HandshakeHeaders.Features] = $"{HandshakeHeaders.FeatureAgentPlugins}, {HandshakeHeaders.FeatureReliableDelivery}";
        var capabilities = new AgentCapabilities(context.Request.Headers[HandshakeHeaders.AgentFeatures].ToString()
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Take(32).Select(f => Truncate(f, 64)).ToHashSet(StringComparer.Ordinal));
        var reliable = capabilities.ReliableDelivery;
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = TimeSpan.FromSeconds(settings.AgentPingSeconds),
            KeepAliveTimeout = TimeSpan.FromSeconds(settings.AgentPingSeconds * settings.AgentMissedPings),
        });

        // The GET /ws span covers the handshake only; the connection's lifetime is not one operation. Each job's
        // result joins the trace of the request that created the job instead (see JobStore).
        Activity.Current?.Stop();
        Activity.Current = null;

        var connection = new AgentConnection(hostname, socket, settings.MaxMessageBytes, capabilities);
        var reason = "unknown";
        try
        {
            if (registry.Add(connection) is not null) logger.AgentReplaced(hostname);
            if (await agents.MarkConnectedAsync(hostname, version, architecture, labels, lifetime.ApplicationStopping)) metrics.AgentReconnected();
            logger.AgentConnected(hostname, version, architecture, remoteIp);
            // An agent that remembers jobs first says what it has (AGENT_STATE); to a seed agent, send what waits now.
            if (!reliable) await dispatcher.DeliverOpenJobsAsync(connection, null, lifetime.ApplicationStopping);

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
                        case AgentResponse response:
                            var persisted = await jobs.ApplyResponseAsync(hostname, response, CancellationToken.None);
                            if (persisted && reliable)
                                await connection.SendAsync(WireJson.Serialize(AgentCommand.Acknowledge(response.JobId)), CancellationToken.None);
                            break;
                        case AgentStateMessage state:
                            await dispatcher.DeliverOpenJobsAsync(connection, state, lifetime.ApplicationStopping);
                            break;
                        case AgentPluginsMessage plugins:
                            await agents.SetPluginsAsync(hostname, plugins.Plugins, CancellationToken.None);
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
            if (registry.Remove(connection) && !lifetime.ApplicationStopping.IsCancellationRequested)
                await agents.MarkDisconnectedAsync(hostname, CancellationToken.None);
            logger.AgentDisconnected(hostname, reason);
        }
        return TypedResults.Empty;
    }

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];
}
