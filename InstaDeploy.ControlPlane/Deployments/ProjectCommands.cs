using System.Text;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Jobs.Submission;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>The commands a project's endpoints (and fan-outs to many agents) submit, built one way.</summary>
public static class ProjectCommands
{
    /// <summary>STOP_COMPOSE or STATUS for a project: to the agent named, or the one it is placed on.</summary>
    public static JobRequest Request(string type, string project, string? agentId, int? timeoutSeconds = null, int? queueTtlSeconds = null, bool failFast = false,
        Audit.AuditActor? actor = null) => new()
        {
            Audit = actor is null ? null : new JobAudit(actor, type == CommandTypes.StopCompose ? Audit.AuditActions.Stop : type.ToLowerInvariant(), $"project:{project}",
            new { project_name = project, agent_id = agentId, timeout_seconds = timeoutSeconds, fail_fast = failFast }),
            Type = type,
            ProjectName = project,
            AgentId = agentId,
            ChooseByProject = true,
            WaitIfOffline = !failFast,
            TimeoutSeconds = timeoutSeconds,
            QueueTtlSeconds = queueTtlSeconds,
            Body = (_, _) => ValueTask.FromResult(CommandBody.Of(new ProjectPayload { ProjectName = project }, CommandPayloadJson.Project)),
        };

    /// <summary>
    /// DEPLOY_COMPOSE of one revision's content: the compose file, its variables (encrypted until the command is written
    /// to the agent), the health wait, rollback_on_failure, and the deploy policy the agent must enforce when one
    /// applies. The revision is numbered and stored with the job. Only an InstaDeploy agent can apply variables,
    /// rollback_on_failure or a policy, so such a deploy is refused for a seed-protocol agent.
    /// </summary>
    public static CommandBody Revision(
        string projectName, string agentId, string yaml, string? variablesProtected, IEnumerable<string> variableNames,
        string createdBy, int? rollbackOf, bool rollbackOnFailure, int healthWaitSeconds, DeployPolicyDecision policy, bool pull = false)
    {
        var compose = Encoding.UTF8.GetBytes(yaml);
        var payload = new DeployComposePayload
        {
            ProjectName = projectName,
            ComposeFileBase64 = Convert.ToBase64String(compose),
            HealthWaitSeconds = healthWaitSeconds,
            RollbackOnFailure = rollbackOnFailure,
            // Variables travel encrypted until the command is written; an empty list tells the agent to remove an old .env.
            Env = variablesProtected is null ? [] : null,
            Policy = policy.AgentPolicy,
            Pull = pull ? true : null,
        };
        var revision = new RevisionEntity
        {
            ProjectName = projectName,
            AgentId = agentId,
            JobId = "",
            ComposeSha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(compose)),
            ComposeYaml = yaml,
            VariablesProtected = variablesProtected,
            VariableNames = string.Join(',', variableNames),
            CreatedBy = createdBy,
            Outcome = RevisionOutcomes.Pending,
            RollbackOf = rollbackOf,
        };
        var body = CommandBody.Of(payload, CommandPayloadJson.Deploy) with { SecretsProtected = variablesProtected, HookState = revision };
        if (policy.AgentPolicy is not null)
            return body with
            {
                RequiredFeature = (HandshakeHeaders.FeatureProjectConfig, CommandRefusal.Conflict("The agent cannot enforce the deploy policy",
                    $"Agent '{agentId}' speaks the seed protocol only and cannot enforce the deploy policy that applies to this deploy{policy.Why}. Deploy to an InstaDeploy agent, or with a key that has host access.")),
            };
        return variablesProtected is null && !rollbackOnFailure ? body : body with
        {
            RequiredFeature = (HandshakeHeaders.FeatureProjectConfig, CommandRefusal.Conflict("The agent cannot apply this deploy",
                $"Agent '{agentId}' speaks the seed protocol only: it would ignore the project's variables and rollback_on_failure. Deploy to an InstaDeploy agent, or remove the project's variables (GET /deployments/{projectName}/env) and rollback_on_failure.")),
        };
    }
}
