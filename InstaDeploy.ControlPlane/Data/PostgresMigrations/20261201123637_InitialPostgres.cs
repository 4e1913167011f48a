using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace InstaDeploy.ControlPlane.Data.PostgresMigrations
{
    /// <inheritdoc />
    public partial class InitialPostgres : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Agents",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(253)", maxLength: 253, nullable: false),
                    Hostname = table.Column<string>(type: "text", nullable: false),
                    Version = table.Column<string>(type: "text", nullable: false),
                    Architecture = table.Column<string>(type: "text", nullable: false),
                    Online = table.Column<bool>(type: "boolean", nullable: false),
                    FirstSeen = table.Column<long>(type: "bigint", nullable: false),
                    LastSeen = table.Column<long>(type: "bigint", nullable: false),
                    ConnectedAt = table.Column<long>(type: "bigint", nullable: true),
                    KeyHash = table.Column<byte[]>(type: "bytea", nullable: true),
                    PendingKeyHash = table.Column<byte[]>(type: "bytea", nullable: true),
                    RevokedAt = table.Column<long>(type: "bigint", nullable: true),
                    PluginsJson = table.Column<string>(type: "text", nullable: true),
                    AnnouncedLabelsJson = table.Column<string>(type: "text", nullable: false),
                    LabelOverridesJson = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Agents", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "ApiKeys",
                columns: table => new
                {
                    Id = table.Column<string>(type: "text", nullable: false),
                    Name = table.Column<string>(type: "text", nullable: false),
                    Scopes = table.Column<string>(type: "text", nullable: false),
                    Hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false),
                    ExpiresAt = table.Column<long>(type: "bigint", nullable: true),
                    RevokedAt = table.Column<long>(type: "bigint", nullable: true),
                    HostAccess = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ApiKeys", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Deployments",
                columns: table => new
                {
                    ProjectName = table.Column<string>(type: "text", nullable: false),
                    AgentId = table.Column<string>(type: "text", nullable: false),
                    State = table.Column<string>(type: "text", nullable: false),
                    LastJobId = table.Column<string>(type: "text", nullable: false),
                    PreviousState = table.Column<string>(type: "text", nullable: true),
                    PreviousJobId = table.Column<string>(type: "text", nullable: true),
                    CurrentRevision = table.Column<int>(type: "integer", nullable: true),
                    ObservedAt = table.Column<long>(type: "bigint", nullable: true),
                    ObservedNote = table.Column<string>(type: "text", nullable: true),
                    ObservationReason = table.Column<string>(type: "text", nullable: true),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false),
                    UpdatedAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Deployments", x => new { x.ProjectName, x.AgentId });
                });

            migrationBuilder.CreateTable(
                name: "EnrollmentTokens",
                columns: table => new
                {
                    Id = table.Column<string>(type: "text", nullable: false),
                    Name = table.Column<string>(type: "text", nullable: false),
                    Hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    UsesLeft = table.Column<int>(type: "integer", nullable: false),
                    AgentId = table.Column<string>(type: "text", nullable: true),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false),
                    ExpiresAt = table.Column<long>(type: "bigint", nullable: false),
                    RevokedAt = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_EnrollmentTokens", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "JobOutput",
                columns: table => new
                {
                    JobId = table.Column<string>(type: "text", nullable: false),
                    Seq = table.Column<long>(type: "bigint", nullable: false),
                    LineCount = table.Column<int>(type: "integer", nullable: false),
                    Text = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobOutput", x => new { x.JobId, x.Seq });
                });

            migrationBuilder.CreateTable(
                name: "Jobs",
                columns: table => new
                {
                    Id = table.Column<string>(type: "text", nullable: false),
                    Type = table.Column<string>(type: "text", nullable: false),
                    AgentId = table.Column<string>(type: "text", nullable: false),
                    ProjectName = table.Column<string>(type: "text", nullable: true),
                    Status = table.Column<string>(type: "text", nullable: false),
                    PayloadJson = table.Column<string>(type: "text", nullable: false),
                    Logs = table.Column<string>(type: "text", nullable: false),
                    Error = table.Column<string>(type: "text", nullable: false),
                    ResultJson = table.Column<string>(type: "text", nullable: true),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false),
                    UpdatedAt = table.Column<long>(type: "bigint", nullable: false),
                    CompletedAt = table.Column<long>(type: "bigint", nullable: true),
                    TimeoutAt = table.Column<long>(type: "bigint", nullable: false),
                    TimeoutSeconds = table.Column<int>(type: "integer", nullable: false),
                    SentAt = table.Column<long>(type: "bigint", nullable: true),
                    ExpiresAt = table.Column<long>(type: "bigint", nullable: true),
                    TraceParent = table.Column<string>(type: "text", nullable: true),
                    SecretsProtected = table.Column<string>(type: "text", nullable: true),
                    ArrivedLate = table.Column<bool>(type: "boolean", nullable: false),
                    LogLinesDropped = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Jobs", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "ProjectVariables",
                columns: table => new
                {
                    ProjectName = table.Column<string>(type: "text", nullable: false),
                    AgentId = table.Column<string>(type: "text", nullable: false),
                    Name = table.Column<string>(type: "text", nullable: false),
                    Value = table.Column<string>(type: "text", nullable: false),
                    Secret = table.Column<bool>(type: "boolean", nullable: false),
                    UpdatedAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ProjectVariables", x => new { x.ProjectName, x.AgentId, x.Name });
                });

            migrationBuilder.CreateTable(
                name: "Revisions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    ProjectName = table.Column<string>(type: "text", nullable: false),
                    Number = table.Column<int>(type: "integer", nullable: false),
                    AgentId = table.Column<string>(type: "text", nullable: false),
                    JobId = table.Column<string>(type: "text", nullable: false),
                    ComposeSha256 = table.Column<string>(type: "text", nullable: false),
                    ComposeYaml = table.Column<string>(type: "text", nullable: false),
                    VariablesProtected = table.Column<string>(type: "text", nullable: true),
                    VariableNames = table.Column<string>(type: "text", nullable: false),
                    CreatedBy = table.Column<string>(type: "text", nullable: false),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false),
                    FinishedAt = table.Column<long>(type: "bigint", nullable: true),
                    Outcome = table.Column<string>(type: "text", nullable: false),
                    RollbackOf = table.Column<int>(type: "integer", nullable: true),
                    RolledBackTo = table.Column<int>(type: "integer", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Revisions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "RolloutEvents",
                columns: table => new
                {
                    RolloutId = table.Column<string>(type: "text", nullable: false),
                    Seq = table.Column<long>(type: "bigint", nullable: false),
                    At = table.Column<long>(type: "bigint", nullable: false),
                    Type = table.Column<string>(type: "text", nullable: false),
                    DataJson = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RolloutEvents", x => new { x.RolloutId, x.Seq });
                });

            migrationBuilder.CreateTable(
                name: "Rollouts",
                columns: table => new
                {
                    Id = table.Column<string>(type: "text", nullable: false),
                    ProjectName = table.Column<string>(type: "text", nullable: false),
                    State = table.Column<string>(type: "text", nullable: false),
                    Reason = table.Column<string>(type: "text", nullable: false),
                    PauseKind = table.Column<string>(type: "text", nullable: true),
                    ComposeYaml = table.Column<string>(type: "text", nullable: true),
                    ComposeSha256 = table.Column<string>(type: "text", nullable: true),
                    RollbackTo = table.Column<string>(type: "text", nullable: true),
                    RollbackChoice = table.Column<string>(type: "text", nullable: true),
                    Selector = table.Column<string>(type: "text", nullable: true),
                    MaxParallel = table.Column<int>(type: "integer", nullable: false),
                    MaxParallelSpec = table.Column<string>(type: "text", nullable: false),
                    CanaryCount = table.Column<int>(type: "integer", nullable: false),
                    AutoPromote = table.Column<bool>(type: "boolean", nullable: false),
                    Promoted = table.Column<bool>(type: "boolean", nullable: false),
                    BatchWaitSeconds = table.Column<int>(type: "integer", nullable: false),
                    HealthWaitSeconds = table.Column<int>(type: "integer", nullable: false),
                    TimeoutSeconds = table.Column<int>(type: "integer", nullable: true),
                    QueueTtlSeconds = table.Column<int>(type: "integer", nullable: true),
                    MaxFailures = table.Column<int>(type: "integer", nullable: false),
                    MaxFailuresSpec = table.Column<string>(type: "text", nullable: false),
                    OnFailure = table.Column<string>(type: "text", nullable: false),
                    Offline = table.Column<string>(type: "text", nullable: false),
                    FailuresAccepted = table.Column<int>(type: "integer", nullable: false),
                    CreatedBy = table.Column<string>(type: "text", nullable: false),
                    CreatedByRestricted = table.Column<bool>(type: "boolean", nullable: false),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false),
                    UpdatedAt = table.Column<long>(type: "bigint", nullable: false),
                    StartedAt = table.Column<long>(type: "bigint", nullable: true),
                    FinishedAt = table.Column<long>(type: "bigint", nullable: true),
                    LastEventSeq = table.Column<long>(type: "bigint", nullable: false),
                    LeaseOwner = table.Column<string>(type: "text", nullable: true),
                    LeaseUntil = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Rollouts", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "RolloutTargets",
                columns: table => new
                {
                    RolloutId = table.Column<string>(type: "text", nullable: false),
                    Ordinal = table.Column<int>(type: "integer", nullable: false),
                    AgentId = table.Column<string>(type: "text", nullable: false),
                    Batch = table.Column<int>(type: "integer", nullable: false),
                    State = table.Column<string>(type: "text", nullable: false),
                    JobId = table.Column<string>(type: "text", nullable: true),
                    JobStatus = table.Column<string>(type: "text", nullable: true),
                    Revision = table.Column<int>(type: "integer", nullable: true),
                    PreviousRevision = table.Column<int>(type: "integer", nullable: true),
                    RollbackOf = table.Column<int>(type: "integer", nullable: true),
                    RollbackJobId = table.Column<string>(type: "text", nullable: true),
                    RollbackRevision = table.Column<int>(type: "integer", nullable: true),
                    Error = table.Column<string>(type: "text", nullable: false),
                    StartedAt = table.Column<long>(type: "bigint", nullable: true),
                    FinishedAt = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RolloutTargets", x => new { x.RolloutId, x.Ordinal });
                });

            migrationBuilder.CreateIndex(
                name: "IX_Agents_KeyHash",
                table: "Agents",
                column: "KeyHash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_ApiKeys_Hash",
                table: "ApiKeys",
                column: "Hash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_EnrollmentTokens_Hash",
                table: "EnrollmentTokens",
                column: "Hash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_AgentId_CreatedAt",
                table: "Jobs",
                columns: new[] { "AgentId", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_AgentId_Status",
                table: "Jobs",
                columns: new[] { "AgentId", "Status" });

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_ProjectName_CreatedAt",
                table: "Jobs",
                columns: new[] { "ProjectName", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_Status_TimeoutAt",
                table: "Jobs",
                columns: new[] { "Status", "TimeoutAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Revisions_JobId",
                table: "Revisions",
                column: "JobId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Revisions_ProjectName_Number",
                table: "Revisions",
                columns: new[] { "ProjectName", "Number" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_ProjectName_CreatedAt",
                table: "Rollouts",
                columns: new[] { "ProjectName", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_State_CreatedAt",
                table: "Rollouts",
                columns: new[] { "State", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_RolloutTargets_JobId",
                table: "RolloutTargets",
                column: "JobId");

            migrationBuilder.CreateIndex(
                name: "IX_RolloutTargets_RollbackJobId",
                table: "RolloutTargets",
                column: "RollbackJobId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Agents");

            migrationBuilder.DropTable(
                name: "ApiKeys");

            migrationBuilder.DropTable(
                name: "Deployments");

            migrationBuilder.DropTable(
                name: "EnrollmentTokens");

            migrationBuilder.DropTable(
                name: "JobOutput");

            migrationBuilder.DropTable(
                name: "Jobs");

            migrationBuilder.DropTable(
                name: "ProjectVariables");

            migrationBuilder.DropTable(
                name: "Revisions");

            migrationBuilder.DropTable(
                name: "RolloutEvents");

            migrationBuilder.DropTable(
                name: "Rollouts");

            migrationBuilder.DropTable(
                name: "RolloutTargets");
        }
    }
}
