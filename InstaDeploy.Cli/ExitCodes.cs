namespace InstaDeploy.Cli;

/// <summary>The CLI's exit codes, documented in the README, so a CI pipeline can tell why a step failed.</summary>
public static class ExitCodes
{
    /// <summary>It worked.</summary>
    public const int Success = 0;

    /// <summary>The job or rollout ran and failed (FAILED, TIMED_OUT, EXPIRED), or the server refused the request in the
    /// state things are in (409: agent offline with --fail-fast, nothing to roll back to).</summary>
    public const int Failed = 1;

    /// <summary>Bad flags or arguments, a bad input file, no control plane configured, or a request the server found
    /// invalid (400, 413, 422).</summary>
    public const int Usage = 2;

    /// <summary>No API key, or the server refused it (401) or its scopes (403).</summary>
    public const int Authentication = 3;

    /// <summary>The agent, job, project, revision, variable, key or rollout does not exist (404).</summary>
    public const int NotFound = 4;

    /// <summary>The control plane could not be reached, answered 5xx or 429, or broke a stream beyond retrying.</summary>
    public const int ServerOrNetwork = 5;

    /// <summary>A fault in the CLI itself (an answer it could not handle): worth a bug report.</summary>
    public const int InternalError = 70;

    /// <summary>Interrupted (Ctrl+C), as shells report SIGINT.</summary>
    public const int Interrupted = 130;

    /// <summary>The exit code for an HTTP error status from the control plane.</summary>
    public static int ForStatus(int status) => status switch
    {
        401 or 403 => Authentication,
        404 => NotFound,
        409 => Failed,
        400 or 405 or 413 or 415 or 422 => Usage,
        _ => ServerOrNetwork,
    };
}
