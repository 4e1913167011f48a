namespace InstaDeploy.Contracts;

/// <summary>Job states. Agents send <see cref="Running"/>, <see cref="Completed"/> and <see cref="Failed"/>;
/// the control plane adds the others.</summary>
public static class JobStatuses
{
    /// <summary>Created, not yet written to the agent's socket.</summary>
    public const string Pending = "PENDING";

    /// <summary>Written to the agent's socket.</summary>
    public const string Sent = "SENT";

    /// <summary>The agent reported progress.</summary>
    public const string Running = "RUNNING";

    /// <summary>The agent finished the command successfully.</summary>
    public const string Completed = "COMPLETED";

    /// <summary>The agent (or the control plane, e.g. when the agent disconnected) reported a failure.</summary>
    public const string Failed = "FAILED";

    /// <summary>No final result arrived within the job's timeout.</summary>
    public const string TimedOut = "TIMED_OUT";

    /// <summary>Queued for an offline agent that did not come back before the job's queue expiry; never sent.</summary>
    public const string Expired = "EXPIRED";

    /// <summary>Whether <paramref name="status"/> is a state a job never leaves.</summary>
    public static bool IsTerminal(string status) => status is Completed or Failed or TimedOut or Expired;

    /// <summary>Prefix of the error of a job the agent was running when it stopped (crash, kill): it is not run again.</summary>
    public const string InterruptedPrefix = "interrupted:";
}
