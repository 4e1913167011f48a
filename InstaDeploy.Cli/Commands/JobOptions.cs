using System.CommandLine;

namespace InstaDeploy.Cli.Commands;

/// <summary>What a command that starts a job offers: follow its output, or wait for its end, and its limits.</summary>
public sealed class JobOptions(bool shortFollow = true)
{
    public Option<bool> Follow { get; } = new("--follow", shortFollow ? ["-f"] : [])
    {
        Description = "Stream the output until it ends; exit 1 if it fails (for CI)",
    };

    public Option<bool> Wait { get; } = new("--wait", "-w")
    {
        Description = "Wait until the job ends, without its output; exit 1 if it fails",
    };

    public Option<int?> Timeout { get; } = new("--timeout")
    {
        Description = "Seconds the job may run once sent before it ends TIMED_OUT (server default: INSTADEPLOY_JOB_TIMEOUT_SECONDS)",
        HelpName = "seconds",
    };

    public Option<int?> QueueTtl { get; } = new("--queue-ttl")
    {
        Description = "Seconds the job may wait for an offline agent before it ends EXPIRED (server default: INSTADEPLOY_QUEUE_TTL_SECONDS)",
        HelpName = "seconds",
    };

    public Option<bool> FailFast { get; } = new("--fail-fast")
    {
        Description = "If the agent is offline, refuse now (exit 1) instead of queueing the job until it connects",
    };

    public void AddTo(Command command, bool limits = true)
    {
        command.Add(Follow);
        command.Add(Wait);
        if (!limits) return;
        command.Add(Timeout);
        command.Add(QueueTtl);
        command.Add(FailFast);
    }

    public JobMode Mode(CliContext context) =>
        context.Value(Follow) && !context.Output.Quiet ? JobMode.Follow
        : context.Value(Follow) || context.Value(Wait) ? JobMode.Wait
        : JobMode.Return;
}

public enum JobMode
{
    /// <summary>Print the job's id and return at once.</summary>
    Return,

    /// <summary>Wait for the end quietly.</summary>
    Wait,

    /// <summary>Stream the output until the end.</summary>
    Follow,
}
