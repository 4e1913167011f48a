using InstaDeploy.ControlPlane.Jobs.Submission;

namespace InstaDeploy.ControlPlane.WebConsole.Text;

/// <summary>The HTTP status a refused form answers with: the one the REST API gives the same refusal.</summary>
public static class Status
{
    public static int Of(CommandRefusal refusal) => refusal.Kind switch
    {
        RefusalKind.NotFound => StatusCodes.Status404NotFound,
        RefusalKind.Conflict => StatusCodes.Status409Conflict,
        RefusalKind.TooManyRequests => StatusCodes.Status429TooManyRequests,
        RefusalKind.TooLarge => StatusCodes.Status413PayloadTooLarge,
        _ => StatusCodes.Status400BadRequest,
    };
}
