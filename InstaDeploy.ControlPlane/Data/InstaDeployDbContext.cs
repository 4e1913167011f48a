using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace InstaDeploy.ControlPlane.Data;

/// <summary>
/// The control plane's store. This type is the SQLite one (its migrations are in <c>Data/Migrations</c>);
/// <see cref="PostgresDbContext"/> is the same model on PostgreSQL, with its own migrations.
/// </summary>
public class InstaDeployDbContext : DbContext
{
    public InstaDeployDbContext(DbContextOptions<InstaDeployDbContext> options) : base(options)
    {
    }

    protected InstaDeployDbContext(DbContextOptions options) : base(options)
    {
    }

    public DbSet<AgentEntity> Agents => Set<AgentEntity>();
    public DbSet<JobEntity> Jobs => Set<JobEntity>();
    public DbSet<DeploymentEntity> Deployments => Set<DeploymentEntity>();
    public DbSet<ApiKeyEntity> ApiKeys => Set<ApiKeyEntity>();
    public DbSet<EnrollmentTokenEntity> EnrollmentTokens => Set<EnrollmentTokenEntity>();
    public DbSet<RevisionEntity> Revisions => Set<RevisionEntity>();
    public DbSet<ProjectVariableEntity> ProjectVariables => Set<ProjectVariableEntity>();
    public DbSet<JobOutputChunkEntity> JobOutput => Set<JobOutputChunkEntity>();
    public DbSet<Rollouts.RolloutEntity> Rollouts => Set<Rollouts.RolloutEntity>();
    public DbSet<Rollouts.RolloutTargetEntity> RolloutTargets => Set<Rollouts.RolloutTargetEntity>();
    public DbSet<Rollouts.RolloutEventEntity> RolloutEvents => Set<Rollouts.RolloutEventEntity>();
    public DbSet<Registries.RegistryCredentialEntity> RegistryCredentials => Set<Registries.RegistryCredentialEntity>();
    public DbSet<Audit.AuditEntryEntity> AuditLog => Set<Audit.AuditEntryEntity>();
    public DbSet<Webhooks.WebhookEntity> Webhooks => Set<Webhooks.WebhookEntity>();
    public DbSet<Webhooks.WebhookDeliveryEntity> WebhookDeliveries => Set<Webhooks.WebhookDeliveryEntity>();
    public DbSet<Jobs.Counts.JobCountEntity> JobCounts => Set<Jobs.Counts.JobCountEntity>();
    public DbSet<Jobs.Counts.JobCountDeltaEntity> JobCountDeltas => Set<Jobs.Counts.JobCountDeltaEntity>();
    public DbSet<Infrastructure.Storage.StorageProbeEntity> StorageProbe => Set<Infrastructure.Storage.StorageProbeEntity>();
    public DbSet<Releases.BundleEntity> Bundles => Set<Releases.BundleEntity>();
    public DbSet<Releases.AgentUpdateEntity> AgentUpdates => Set<Releases.AgentUpdateEntity>();
    public DbSet<Agents.AgentMetricsEntity> AgentMetrics => Set<Agents.AgentMetricsEntity>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite cannot compare or sort DateTimeOffset text; as UTC ticks (all times here are UTC) it can.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<AgentEntity>(agent =>
        {
            agent.HasKey(a => a.Id);
            agent.Property(a => a.Id).HasMaxLength(253);
            agent.HasIndex(a => a.KeyHash).IsUnique();
        });

        modelBuilder.Entity<JobEntity>(job =>
        {
            job.HasKey(j => j.Id);
            job.HasIndex(j => new { j.AgentId, j.CreatedAt });
            // The open-jobs count and lookup on every command (AgentId = ? AND Status IN open): without it SQLite walks
            // the agent's whole job history through (AgentId, CreatedAt), which grows without bound.
            job.HasIndex(j => new { j.AgentId, j.Status });
            job.HasIndex(j => new { j.ProjectName, j.CreatedAt });
            job.HasIndex(j => new { j.Status, j.TimeoutAt });
            // GET /jobs pages newest first by (CreatedAt, Id), unfiltered or by status: an index per order, so a page
            // reads its rows and no more whatever the history holds (agent and project have theirs above).
            job.HasIndex(j => new { j.CreatedAt, j.Id });
            job.HasIndex(j => new { j.Status, j.CreatedAt });
            // The job counters' triggers (migration JobCountsAndListIndexes): EF must not use RETURNING on this table.
            job.ToTable(t => t.HasTrigger("Jobs_Counts"));
        });

        modelBuilder.Entity<Jobs.Counts.JobCountEntity>(count =>
        {
            count.HasKey(c => new { c.AgentId, c.Status });
        });

        modelBuilder.Entity<Jobs.Counts.JobCountDeltaEntity>(delta =>
        {
            delta.HasKey(d => d.Id);
        });

        modelBuilder.Entity<EnrollmentTokenEntity>(token =>
        {
            token.HasKey(t => t.Id);
            token.HasIndex(t => t.Hash).IsUnique();
            token.HasIndex(t => new { t.CreatedAt, t.Id }); // GET /enrollment-tokens pages oldest first
        });

        modelBuilder.Entity<ApiKeyEntity>(key =>
        {
            key.HasKey(k => k.Id);
            key.HasIndex(k => k.Hash).IsUnique();
            key.HasIndex(k => new { k.CreatedAt, k.Id }); // GET /api-keys pages oldest first
        });

        modelBuilder.Entity<DeploymentEntity>(deployment =>
        {
            deployment.HasKey(d => new { d.ProjectName, d.AgentId });
            // GET /deployments?agent_id= pages by project through it, as the primary key pages the unfiltered list.
            deployment.HasIndex(d => new { d.AgentId, d.ProjectName });
            // Retention keeps the jobs a placement names: without these it read every placement for every candidate job.
            deployment.HasIndex(d => d.LastJobId);
            deployment.HasIndex(d => d.PreviousJobId);
        });

        modelBuilder.Entity<RevisionEntity>(revision =>
        {
            revision.HasKey(r => r.Id);
            revision.HasIndex(r => new { r.ProjectName, r.Number }).IsUnique();
            revision.HasIndex(r => r.JobId).IsUnique();
            revision.HasIndex(r => new { r.ProjectName, r.AgentId, r.Number }); // a project's revisions on one agent, newest first
        });

        modelBuilder.Entity<JobOutputChunkEntity>(chunk =>
        {
            chunk.ToTable("JobOutput");
            chunk.HasKey(c => new { c.JobId, c.Seq });
        });

        modelBuilder.Entity<ProjectVariableEntity>(variable =>
        {
            variable.HasKey(v => new { v.ProjectName, v.AgentId, v.Name });
        });

        modelBuilder.Entity<Rollouts.RolloutEntity>(rollout =>
        {
            rollout.HasKey(r => r.Id);
            // GET /rollouts pages newest first by (CreatedAt, Id): an index per filter it offers, ending in that order.
            rollout.HasIndex(r => new { r.State, r.CreatedAt, r.Id });
            rollout.HasIndex(r => new { r.ProjectName, r.CreatedAt, r.Id });
            rollout.HasIndex(r => new { r.ProjectName, r.State, r.CreatedAt, r.Id });
            rollout.HasIndex(r => new { r.CreatedAt, r.Id });
            // Two writers that both read the same event number: the second fails and retries with fresh reads.
            rollout.Property(r => r.LastEventSeq).IsConcurrencyToken();
        });

        modelBuilder.Entity<Rollouts.RolloutTargetEntity>(target =>
        {
            target.HasKey(t => new { t.RolloutId, t.Ordinal });
            target.HasIndex(t => t.JobId);
            target.HasIndex(t => t.RollbackJobId);
            // A target's job is set once: an update that finds it set already (another engine got there) fails.
            target.Property(t => t.JobId).IsConcurrencyToken();
            target.Property(t => t.RollbackJobId).IsConcurrencyToken();
        });

        modelBuilder.Entity<Rollouts.RolloutEventEntity>(item =>
        {
            item.HasKey(e => new { e.RolloutId, e.Seq });
        });

        modelBuilder.Entity<Registries.RegistryCredentialEntity>(registry =>
        {
            registry.HasKey(r => new { r.Host, r.Scope });
        });

        modelBuilder.Entity<Audit.AuditEntryEntity>(entry =>
        {
            entry.ToTable("AuditLog");
            entry.HasKey(e => e.Id);
            entry.HasIndex(e => e.At);
            // GET /audit pages newest first by Id: each exact filter has an index ending in Id, so a page reads its rows
            // through it (a prefix filter, action "rollout." or a target, ranges over its index and sorts what matches).
            entry.HasIndex(e => new { e.Action, e.Id });
            entry.HasIndex(e => new { e.ActorId, e.Id });
            entry.HasIndex(e => new { e.ActorName, e.Id });
            entry.HasIndex(e => new { e.Target, e.Id });
            entry.HasIndex(e => new { e.Outcome, e.Id });
        });

        modelBuilder.Entity<Webhooks.WebhookEntity>(webhook =>
        {
            webhook.HasKey(w => w.Id);
            webhook.HasIndex(w => new { w.ProjectName, w.CreatedAt, w.Id }); // GET /webhooks?project_name= pages oldest first
            webhook.HasIndex(w => new { w.CreatedAt, w.Id });
        });

        modelBuilder.Entity<Webhooks.WebhookDeliveryEntity>(delivery =>
        {
            delivery.HasKey(d => new { d.WebhookId, d.DeliveryId });
            delivery.HasIndex(d => new { d.WebhookId, d.BodySha256 }).IsUnique();
            delivery.HasIndex(d => d.ReceivedAt);
        });

        modelBuilder.Entity<Releases.BundleEntity>(bundle =>
        {
            bundle.HasKey(b => new { b.Kind, b.Name, b.Version, b.Architecture });
            bundle.HasIndex(b => b.Sha256);
        });

        modelBuilder.Entity<Releases.AgentUpdateEntity>(update => update.HasKey(u => u.AgentId));
        modelBuilder.Entity<Agents.AgentMetricsEntity>(metrics => metrics.HasKey(m => m.AgentId));

        modelBuilder.Entity<Infrastructure.Storage.StorageProbeEntity>(probe =>
        {
            probe.ToTable("StorageProbe");
            probe.HasKey(p => p.Id);
            probe.Property(p => p.Id).ValueGeneratedNever();
        });
    }
}
