using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Jobs.Submission;

namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>Turns the submission path's domain results into HTTP answers, the same way for every endpoint.</summary>
internal static class SubmissionResults
{
    /// <summary>202 with the job and its Location, or the refusal as problem details.</summary>
    public static Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult> ToHttp(this Submission submission) =>
        submission.Job is { } job
            ? TypedResults.Accepted($"/jobs/{job.Id}", job.ToAccepted())
            : submission.Refusal!.ToHttp();

    /// <summary>The refusal as problem details: 400 naming the field, 400, 404, 409 or 429.</summary>
    public static Results<Accepted<JobAccepted>, ValidationProblem, ProblemHttpResult> ToHttp(this CommandRefusal refusal) => refusal.Kind switch
    {
        RefusalKind.Invalid => Problems.Invalid(refusal.Field!, refusal.Detail),
        RefusalKind.NotFound => Problems.NotFound(refusal.Title, refusal.Detail),
        RefusalKind.Conflict => Problems.Conflict(refusal.Title, refusal.Detail),
        RefusalKind.TooLarge => Problems.TooLarge(refusal.Detail),
        RefusalKind.TooManyRequests => TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: refusal.Title, detail: refusal.Detail),
        _ => Problems.BadRequest(refusal.Title, refusal.Detail),
    };

    /// <summary>The refusal as an <see cref="IResult"/>, for endpoints that answer more than a job.</summary>
    public static IResult ToResult(this CommandRefusal refusal) => (IResult)refusal.ToHttp().Result;
}
