namespace InstaDeploy.ControlPlane.Jobs.Submission;

/// <summary>Why a command was not accepted; nothing was created. Endpoints turn it into problem details.</summary>
/// <param name="Kind">What kind of refusal, which decides the HTTP status.</param>
/// <param name="Title">A short summary.</param>
/// <param name="Detail">What to do about it.</param>
/// <param name="Field">For <see cref="RefusalKind.Invalid"/>: the request field that is wrong.</param>
public sealed record CommandRefusal(RefusalKind Kind, string Title, string Detail, string? Field = null)
{
    /// <summary>A request field is wrong: <paramref name="message"/> says how.</summary>
    public static CommandRefusal Invalid(string field, string message) => new(RefusalKind.Invalid, "The request is not valid", message, field);

    public static CommandRefusal BadRequest(string title, string detail) => new(RefusalKind.BadRequest, title, detail);

    public static CommandRefusal NotFound(string title, string detail) => new(RefusalKind.NotFound, title, detail);

    public static CommandRefusal Conflict(string title, string detail) => new(RefusalKind.Conflict, title, detail);

    public static CommandRefusal TooMany(string title, string detail) => new(RefusalKind.TooManyRequests, title, detail);

    public static CommandRefusal TooLarge(string detail) => new(RefusalKind.TooLarge, "Payload too large", detail);
}

/// <summary>The kinds of refusal.</summary>
public enum RefusalKind
{
    /// <summary>A field of the request is not valid (400, naming the field).</summary>
    Invalid,

    /// <summary>The request cannot be served as it is (400).</summary>
    BadRequest,

    /// <summary>Something it names does not exist (404).</summary>
    NotFound,

    /// <summary>The state of the fleet does not allow it now (409).</summary>
    Conflict,

    /// <summary>A limit is reached; retry later (429).</summary>
    TooManyRequests,

    /// <summary>Something sent is over its size limit (413).</summary>
    TooLarge,
}

/// <summary>What came of a submission: the job, or why there is none.</summary>
public readonly record struct Submission(Data.JobEntity? Job, CommandRefusal? Refusal)
{
    public static implicit operator Submission(CommandRefusal refusal) => new(null, refusal);
}
