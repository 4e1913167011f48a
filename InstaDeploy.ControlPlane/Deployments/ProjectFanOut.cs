using InstaDeploy.ControlPlane.Agents;
using InstaDeploy.ControlPlane.Data;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Submission;
using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Deployments;

/// <summary>STOP_COMPOSE or STATUS of a project on every agent a selector matches that the project is placed on: one
/// job per agent, each through the one submission path.</summary>
public static class ProjectFanOut
{
    public static async Task<Results<Accepted<JobAccepted>, Accepted<FanOutAnswer>, ValidationProblem, ProblemHttpResult>> SubmitAsync(
        string type, ProjectRequest request, CommandSubmitter submitter, InstaDeployDbContext db, CancellationToken cancellationToken, Audit.AuditActor? actor = null)
    {
        if (request.AgentId is not null) return Problems.Invalid("selector", "and agent_id exclude each other: name one agent, or select several");
        var (selector, error) = LabelSelector.Parse(request.Selector);
        if (error is not null) return Problems.Invalid("selector", error);
        var project = request.ProjectName!;
        var placed = await db.Deployments.AsNoTracking().Where(d => d.ProjectName == project)
            .Join(db.Agents, d => d.AgentId, a => a.Id, (d, a) => new { a.Id, a.AnnouncedLabelsJson, a.LabelOverridesJson })
            .OrderBy(a => a.Id).ToListAsync(cancellationToken);
        if (placed.Count == 0)
            return Problems.NotFound("Unknown project", $"Project '{project}' has never been deployed. GET /deployments lists deployed projects.");
        var agents = placed.Where(a => selector!.Matches(AgentLabelSet.Effective(a.AnnouncedLabelsJson, a.LabelOverridesJson))).Select(a => a.Id).ToList();
        if (agents.Count == 0)
            return Problems.BadRequest("No agent selected", $"None of the {placed.Count} agents '{project}' is placed on matches the selector. GET /deployments/{project} lists them, GET /agents their labels.");

        var jobs = new List<JobAccepted>();
        var refused = new List<FanOutRefusal>();
        foreach (var agentId in agents)
        {
            var submission = await submitter.SubmitAsync(ProjectCommands.Request(type, project, agentId, request.TimeoutSeconds, request.QueueTtlSeconds, request.FailFast, actor), cancellationToken);
            if (submission.Job is { } job) jobs.Add(job.ToAccepted());
            else if (submission.Refusal is { Kind: RefusalKind.Invalid } invalid) return Problems.Invalid(invalid.Field!, invalid.Detail); // the same for every agent
            else refused.Add(new FanOutRefusal(agentId, submission.Refusal!.Title, submission.Refusal.Detail));
        }
        return TypedResults.Accepted((string?)null, new FanOutAnswer([.. jobs], [.. refused]));
    }
}

/// <summary>What a command sent to every selected agent answers (HTTP 202): a job per agent it was sent to, and why
/// it was not sent to the others.</summary>
/// <param name="Jobs">The jobs created, one per agent; follow each at GET /jobs/{job_id}.</param>
/// <param name="Refused">The selected agents that got no job, with the reason (e.g. offline with fail_fast).</param>
public sealed record FanOutAnswer(JobAccepted[] Jobs, FanOutRefusal[] Refused);

/// <summary>An agent a command was not sent to.</summary>
public sealed record FanOutRefusal(string AgentId, string Title, string Detail);
