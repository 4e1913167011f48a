namespace InstaDeploy.ControlPlane.Jobs.Counts;

/// <summary>
/// How many jobs of one agent are in one status. Kept by triggers on the Jobs table (written in the statement that
/// inserts, changes the status of or deletes a job, so in its transaction, whichever path wrote it: the group-commit
/// writer's many results per transaction, timeouts, retention's deletes), never by the application.
/// </summary>
public sealed class JobCountEntity
{
    public required string AgentId { get; set; }
    public required string Status { get; set; }
    public long Count { get; set; }
}

/// <summary>
/// On PostgreSQL a job's change appends one of these (+1 to the new status, −1 to the old) instead of updating a counter
/// row: concurrent transactions of several instances then never wait on, or deadlock over, the same counter.
/// <see cref="JobCountCompactor"/> folds them into <see cref="JobCountEntity"/> rows every few seconds; a count is the two
/// added up. SQLite has one writer at a time, so its triggers update the counters directly and this table stays empty.
/// </summary>
public sealed class JobCountDeltaEntity
{
    public long Id { get; set; }
    public required string AgentId { get; set; }
    public required string Status { get; set; }
    public long Delta { get; set; }
}
