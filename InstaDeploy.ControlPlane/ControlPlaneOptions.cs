using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane;

/// <summary>Settings, read from environment variables (or any configuration source) with the seed's names.</summary>
public sealed class ControlPlaneOptions
{
    /// <summary>Whether agents may still authenticate with the shared AGENT_SECRET_TOKEN (the seed's way). Off: only
    /// per-agent keys (from enrollment) are accepted, and AGENT_SECRET_TOKEN is not needed.</summary>
    [ConfigurationKeyName("INSTADEPLOY_SHARED_AGENT_TOKEN")]
    public bool AllowSharedAgentToken { get; set; } = true;

    /// <summary>The shared token agents present as <c>Authorization: Bearer</c>. Required while the shared token is allowed.</summary>
    [ConfigurationKeyName("AGENT_SECRET_TOKEN")]
    public string AgentSecretToken { get; set; } = "";

    /// <summary>The first admin API key. Unset on a first start, one is generated and printed once.</summary>
    [ConfigurationKeyName("INSTADEPLOY_ADMIN_API_KEY")]
    public string? AdminApiKey { get; set; }

    /// <summary>Folder of the SQLite database.</summary>
    [ConfigurationKeyName("INSTADEPLOY_DATA_DIR")]
    public string DataDirectory { get; set; } = "./data";

    /// <summary>How long a job may take before it ends <c>TIMED_OUT</c>, unless the request says otherwise.</summary>
    [ConfigurationKeyName("INSTADEPLOY_JOB_TIMEOUT_SECONDS")]
    [Range(1, 86_400)]
    public int JobTimeoutSeconds { get; set; } = 600;

    /// <summary>How long a job for an offline agent waits for it before it ends EXPIRED, unless the request says otherwise.</summary>
    [ConfigurationKeyName("INSTADEPLOY_QUEUE_TTL_SECONDS")]
    [Range(1, 30 * 86_400)]
    public int QueueTtlSeconds { get; set; } = 3600;

    /// <summary>Pings an agent may miss before it counts as gone (its connection is closed and it is offline).</summary>
    [ConfigurationKeyName("INSTADEPLOY_AGENT_MISSED_PINGS")]
    [Range(1, 100)]
    public int AgentMissedPings { get; set; } = 2;

    /// <summary>Largest compose file accepted, in bytes after base64 decoding.</summary>
    [ConfigurationKeyName("INSTADEPLOY_MAX_COMPOSE_BYTES")]
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxComposeBytes { get; set; } = 1024 * 1024;

    /// <summary>Largest WebSocket message accepted from an agent; a bigger one closes the socket with 1009.</summary>
    [ConfigurationKeyName("INSTADEPLOY_MAX_MESSAGE_BYTES")]
    [Range(64 * 1024, 256 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Whether the deploy policy is on for every deploy (it always is for deploy keys without host access): no
    /// privileged containers, devices, host namespaces, or bind mounts outside the project and the allow-list.</summary>
    [ConfigurationKeyName("INSTADEPLOY_POLICY")]
    public bool PolicyEnabled { get; set; }

    /// <summary>Host paths (comma separated) under which bind mounts are allowed when the policy applies.</summary>
    [ConfigurationKeyName("INSTADEPLOY_POLICY_BIND_ALLOW")]
    public string PolicyBindAllow { get; set; } = "";

    /// <summary>Capabilities (comma separated, e.g. NET_ADMIN) cap_add may add when the policy applies; none by default.</summary>
    [ConfigurationKeyName("INSTADEPLOY_POLICY_CAP_ADD_ALLOW")]
    public string PolicyCapAddAllow { get; set; } = "";

    /// <summary>The policy's allow-lists.</summary>
    public Compose.PolicySettings Policy =>
        Compose.PolicySettings.FromLists(PolicyBindAllow, PolicyCapAddAllow, "INSTADEPLOY_POLICY_BIND_ALLOW", "INSTADEPLOY_POLICY_CAP_ADD_ALLOW");

    /// <summary>REST requests per second each API key may make (bursts up to twice as many); over it, 429.</summary>
    [ConfigurationKeyName("INSTADEPLOY_RATE_LIMIT_PER_SECOND")]
    [Range(1, 1_000_000)]
    public int RateLimitPerSecond { get; set; } = 50;

    /// <summary>Requests per second without a valid API key from one client address (bursts of ten times as many); then 429.</summary>
    [ConfigurationKeyName("INSTADEPLOY_UNAUTHENTICATED_RATE_PER_IP")]
    [Range(1, 1_000_000)]
    public int UnauthenticatedRatePerIp { get; set; } = 20;

    /// <summary>Agent WebSocket handshakes per second from one client address (bursts of ten times as many); then 429.</summary>
    [ConfigurationKeyName("INSTADEPLOY_HANDSHAKE_RATE_PER_IP")]
    [Range(1, 1_000_000)]
    public int HandshakeRatePerIp { get; set; } = 100;

    /// <summary>Server-Sent Events streams (job output, container logs) one API key may hold open at once; then 429.</summary>
    [ConfigurationKeyName("INSTADEPLOY_MAX_STREAMS_PER_KEY")]
    [Range(1, 1_000_000)]
    public int MaxStreamsPerKey { get; set; } = 200;

    /// <summary>Server-Sent Events streams open at once over all keys; then 429.</summary>
    [ConfigurationKeyName("INSTADEPLOY_MAX_STREAMS")]
    [Range(1, 1_000_000)]
    public int MaxStreams { get; set; } = 5000;

    /// <summary>Messages per second one agent connection may send (bursts of ten times as many); past it the
    /// connection is closed (1008) and the agent reconnects with backoff.</summary>
    [ConfigurationKeyName("INSTADEPLOY_AGENT_MESSAGES_PER_SECOND")]
    [Range(1, 1_000_000)]
    public int AgentMessagesPerSecond { get; set; } = 500;

    /// <summary>How often each placement of a connected agent is compared with what its engine runs (a STATUS), besides
    /// after every uncertain outcome.</summary>
    [ConfigurationKeyName("INSTADEPLOY_RECONCILE_SECONDS")]
    [Range(10, 7 * 86_400)]
    public int ReconcileSeconds { get; set; } = 900;

    /// <summary>Finished jobs older than this many days are deleted (0: kept for ever), except the jobs that made a
    /// revision, those a deployment or rollout names, and the newest <see cref="JobRetentionKeep"/> of each project and agent.</summary>
    [ConfigurationKeyName("INSTADEPLOY_JOB_RETENTION_DAYS")]
    [Range(0, 36_500)]
    public int JobRetentionDays { get; set; } = 30;

    /// <summary>A finished job's output is cleared after this many days (0: kept as long as the job).</summary>
    [ConfigurationKeyName("INSTADEPLOY_JOB_OUTPUT_RETENTION_DAYS")]
    [Range(0, 36_500)]
    public int JobOutputRetentionDays { get; set; } = 14;

    /// <summary>The newest jobs of each project and of each agent kept whatever their age.</summary>
    [ConfigurationKeyName("INSTADEPLOY_JOB_RETENTION_KEEP")]
    [Range(0, 100_000)]
    public int JobRetentionKeep { get; set; } = 50;

    /// <summary>How often retention looks for jobs to delete.</summary>
    [ConfigurationKeyName("INSTADEPLOY_RETENTION_INTERVAL_SECONDS")]
    [Range(1, 86_400)]
    public int RetentionIntervalSeconds { get; set; } = 300;

    /// <summary>Most jobs an agent may have waiting or running; past it, new commands for it get 429.</summary>
    [ConfigurationKeyName("INSTADEPLOY_MAX_OPEN_JOBS_PER_AGENT")]
    [Range(1, 1_000_000)]
    public int MaxOpenJobsPerAgent { get; set; } = 1000;

    /// <summary>How long a client may take to send a request's headers (the WebSocket handshake included).</summary>
    [ConfigurationKeyName("INSTADEPLOY_HANDSHAKE_TIMEOUT_SECONDS")]
    [Range(1, 600)]
    public int HandshakeTimeoutSeconds { get; set; } = 10;

    /// <summary>Most log text kept per job (the tail is kept).</summary>
    [ConfigurationKeyName("INSTADEPLOY_MAX_JOB_LOG_BYTES")]
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxJobLogBytes { get; set; } = 1024 * 1024;

    /// <summary>How often the server pings each agent; an agent that does not answer within the same time is dropped.</summary>
    [ConfigurationKeyName("INSTADEPLOY_AGENT_PING_SECONDS")]
    [Range(1, 3600)]
    public int AgentPingSeconds { get; set; } = 15;

    /// <summary>Folder of the Data Protection key ring that encrypts secret variables (default: keys/ in the data folder).
    /// Keep it out of database backups: the database alone then reveals no secret.</summary>
    [ConfigurationKeyName("INSTADEPLOY_KEY_RING_DIR")]
    public string? KeyRingDirectory { get; set; }

    /// <summary>
    /// SQLite's <c>synchronous</c> setting. FULL (the default) flushes the write-ahead log to disk at every commit, so a
    /// stored job or result survives even a power loss. NORMAL flushes only at checkpoints: every commit still survives
    /// a crash or kill -9 of the control plane, but the last commits before a power loss or kernel crash of the machine
    /// may be lost. NORMAL takes a disk flush out of every write (see docs/BENCHMARKS.md for what that buys).
    /// </summary>
    [ConfigurationKeyName("INSTADEPLOY_DB_SYNCHRONOUS")]
    [AllowedValues("FULL", "NORMAL", "full", "normal")]
    public string DatabaseSynchronous { get; set; } = "FULL";

    /// <summary>Free space (MiB) on the data folder's file system under which /health reports unhealthy; 0 turns it off.</summary>
    [ConfigurationKeyName("INSTADEPLOY_MIN_FREE_DISK_MB")]
    [Range(0, 10_000_000)]
    public int MinFreeDiskMegabytes { get; set; } = 64;

    /// <summary>Days the audit log keeps an entry; 0 keeps every entry.</summary>
    [ConfigurationKeyName("INSTADEPLOY_AUDIT_RETENTION_DAYS")]
    [Range(0, 36_500)]
    public int AuditRetentionDays { get; set; } = 365;

    /// <summary>Hours a webhook remembers the deliveries it accepted (their GitHub delivery id and body): the same one
    /// again within it is refused. A push older than this is refused too.</summary>
    [ConfigurationKeyName("INSTADEPLOY_WEBHOOK_REPLAY_WINDOW_HOURS")]
    [Range(1, 24 * 365)]
    public int WebhookReplayWindowHours { get; set; } = 72;

    /// <summary>The operator's public keys bundles are signed with: a PEM file's path, or PEM text, one or more P-256
    /// keys. Unset, no agent release or plugin package can be uploaded. Only public keys: the control plane cannot sign.</summary>
    [ConfigurationKeyName("INSTADEPLOY_RELEASE_PUBLIC_KEYS")]
    public string? ReleasePublicKeys { get; set; }

    /// <summary>Largest bundle (agent release or plugin package) accepted, in MiB, uploaded and unpacked.</summary>
    [ConfigurationKeyName("INSTADEPLOY_MAX_BUNDLE_MB")]
    [Range(1, 4096)]
    public int MaxBundleMegabytes { get; set; } = 256;

    /// <summary>How long an updated agent has from its start to connect and pass its health check before its launcher
    /// starts the previous version again.</summary>
    [ConfigurationKeyName("INSTADEPLOY_AGENT_UPDATE_CONFIRM_SECONDS")]
    [Range(10, 3600)]
    public int AgentUpdateConfirmSeconds { get; set; } = 120;

    /// <summary>Folder of PostgreSQL's client programs (pg_dump, pg_restore) that backups and restores use when the store
    /// is PostgreSQL. Unset: PATH, then the newest /usr/lib/postgresql/*/bin.</summary>
    [ConfigurationKeyName(Backups.PgTools.BinDirectorySetting)]
    public string? PgBinDirectory { get; set; }

    /// <summary>Where the kept bundles are (owner-only).</summary>
    public string BundlesPath => Path.Combine(Path.GetFullPath(DataDirectory), "bundles");

    public string DatabasePath => Path.Combine(Path.GetFullPath(DataDirectory), "instadeploy.db");

    public string KeyRingPath => Path.GetFullPath(string.IsNullOrEmpty(KeyRingDirectory) ? Path.Combine(DataDirectory, "keys") : KeyRingDirectory);
}

internal sealed class ControlPlaneOptionsValidator : IValidateOptions<ControlPlaneOptions>
{
    /// <summary>The shortest secret accepted from settings: 32 characters of a random value (e.g. openssl rand -hex 16)
    /// cannot be guessed, which the rate limits alone cannot promise for a short one.</summary>
    public const int MinSecretLength = 32;

    public ValidateOptionsResult Validate(string? name, ControlPlaneOptions options)
    {
        if (!string.IsNullOrEmpty(options.AdminApiKey) && options.AdminApiKey.Trim().Length < MinSecretLength)
            return ValidateOptionsResult.Fail(
                $"INSTADEPLOY_ADMIN_API_KEY is shorter than {MinSecretLength} characters; use a long random value, e.g. export INSTADEPLOY_ADMIN_API_KEY=\"idk_$(openssl rand -hex 24)\" (or leave it unset: one is generated and printed once).");
        if (Compose.PolicySettings.BindAllowProblem(options.PolicyBindAllow, "INSTADEPLOY_POLICY_BIND_ALLOW") is { } bindAllow)
            return ValidateOptionsResult.Fail(bindAllow);
        if (Compose.PolicySettings.CapAddAllowProblem(options.PolicyCapAddAllow, "INSTADEPLOY_POLICY_CAP_ADD_ALLOW") is { } capAddAllow)
            return ValidateOptionsResult.Fail(capAddAllow);
        if (options.JobRetentionDays > 0 && options.JobOutputRetentionDays > options.JobRetentionDays)
            return ValidateOptionsResult.Fail(
                $"INSTADEPLOY_JOB_OUTPUT_RETENTION_DAYS ({options.JobOutputRetentionDays}) is longer than INSTADEPLOY_JOB_RETENTION_DAYS ({options.JobRetentionDays}): output cannot outlive its job; lower it, or set it to 0 to keep output as long as the job.");
        if (!string.IsNullOrWhiteSpace(options.ReleasePublicKeys))
        {
            try
            {
                foreach (var key in Contracts.Bundles.BundleSignature.LoadPublicKeys(options.ReleasePublicKeys)) key.Dispose();
            }
            catch (Contracts.Bundles.BundleException e)
            {
                return ValidateOptionsResult.Fail($"INSTADEPLOY_RELEASE_PUBLIC_KEYS: {e.Message}");
            }
        }
        if (Backups.PgTools.BinDirectoryProblem(options.PgBinDirectory) is { } pgBinDirectory)
            return ValidateOptionsResult.Fail(pgBinDirectory);
        if (!options.AllowSharedAgentToken) return ValidateOptionsResult.Success;
        if (string.IsNullOrWhiteSpace(options.AgentSecretToken))
            return ValidateOptionsResult.Fail(
                "AGENT_SECRET_TOKEN is not set. Set it to the secret your agents present, e.g. export AGENT_SECRET_TOKEN=\"$(openssl rand -hex 32)\" (or set INSTADEPLOY_SHARED_AGENT_TOKEN=false to accept only agents' own keys).");
        if (options.AgentSecretToken.Trim().Length < MinSecretLength)
            return ValidateOptionsResult.Fail(
                $"AGENT_SECRET_TOKEN is shorter than {MinSecretLength} characters; use a long random value, e.g. export AGENT_SECRET_TOKEN=\"$(openssl rand -hex 32)\".");
        return ValidateOptionsResult.Success;
    }
}
