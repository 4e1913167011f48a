using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Infrastructure;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>An agent's latest metrics, with when the control plane received them.</summary>
/// <param name="AgentId">The agent.</param>
/// <param name="ReceivedAt">When the sample arrived.</param>
/// <param name="Metrics">The sample: CPU, memory, disk, and each container's CPU and memory.</param>
public sealed record AgentMetricsDto(string AgentId, DateTimeOffset ReceivedAt, AgentMetricsMessage Metrics);

public static class AgentMetricsApi
{
    public static IEndpointRouteBuilder MapAgentMetricsApi(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/agents").WithTags("Agents").RequireAuthorization(ApiKeys.ApiKeyScopes.Read).RequireRateLimiting(RateLimits.PerKey)
            .MapGet("/{agentId}/metrics", async (string agentId, AgentMetricsStore metrics, CancellationToken token) =>
                await metrics.LatestAsync(agentId, token) is { } latest
                    ? Results.Ok(new AgentMetricsDto(agentId, latest.ReceivedAt, latest.Sample))
                    : Problems.NotFound("No metrics", $"Agent '{AgentLabels.Shown(agentId)}' has sent no metrics: it never connected, is older than the agent-metrics extension, or runs with AGENT_METRICS_SECONDS=0."))
            .WithName("GetAgentMetrics")
            .Produces<AgentMetricsDto>()
            .WithSummary("An agent's latest host and container metrics")
            .WithDescription("CPU (percent of all cores), memory, the projects folder's disk, and each container's CPU and memory, as the agent sampled them (every AGENT_METRICS_SECONDS, default 10), kept in the database: every instance answers, and an offline agent's last sample stays (received_at says how old it is). The same values are the agent's OpenTelemetry gauges.");
        return app;
    }
}
