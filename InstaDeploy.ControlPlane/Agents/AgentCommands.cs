using System.Text.Json;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Jobs.Submission;

namespace InstaDeploy.ControlPlane.Agents;

/// <summary>The commands about an agent itself, built one way for every endpoint and page that sends them.</summary>
public static class AgentCommands
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>HEALTH_CHECK: never waits for an offline agent (the answer would be stale by the time it came).</summary>
    public static JobRequest HealthCheck(string agentId) => new()
    {
        Type = CommandTypes.HealthCheck,
        AgentId = agentId,
        WaitIfOffline = false,
        Body = (_, _) => ValueTask.FromResult(CommandBody.Of(EmptyObject, CommandPayloadJson.Any)),
    };
}
