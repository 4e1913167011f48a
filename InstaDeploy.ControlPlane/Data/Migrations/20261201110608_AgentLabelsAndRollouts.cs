using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace InstaDeploy.ControlPlane.Data.Migrations
{
    /// <inheritdoc />
    public partial class AgentLabelsAndRollouts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "AnnouncedLabelsJson",
                table: "Agents",
                type: "TEXT",
                nullable: false,
                defaultValue: "{}");

            migrationBuilder.AddColumn<string>(
                name: "LabelOverridesJson",
                table: "Agents",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "RolloutEvents",
                columns: table => new
                {
                    RolloutId = table.Column<string>(type: "TEXT", nullable: false),
                    Seq = table.Column<long>(type: "INTEGER", nullable: false),
                    At = table.Column<long>(type: "INTEGER", nullable: false),
                    Type = table.Column<string>(type: "TEXT", nullable: false),
                    DataJson = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RolloutEvents", x => new { x.RolloutId, x.Seq });
                });

            migrationBuilder.CreateTable(
                name: "Rollouts",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", nullable: false),
                    ProjectName = table.Column<string>(type: "TEXT", nullable: false),
                    State = table.Column<string>(type: "TEXT", nullable: false),
                    Reason = table.Column<string>(type: "TEXT", nullable: false),
                    PauseKind = table.Column<string>(type: "TEXT", nullable: true),
                    ComposeYaml = table.Column<string>(type: "TEXT", nullable: true),
                    ComposeSha256 = table.Column<string>(type: "TEXT", nullable: true),
                    RollbackTo = table.Column<string>(type: "TEXT", nullable: true),
                    RollbackChoice = table.Column<string>(type: "TEXT", nullable: true),
                    Selector = table.Column<string>(type: "TEXT", nullable: true),
                    MaxParallel = table.Column<int>(type: "INTEGER", nullable: false),
                    MaxParallelSpec = table.Column<string>(type: "TEXT", nullable: false),
                    CanaryCount = table.Column<int>(type: "INTEGER", nullable: false),
                    AutoPromote = table.Column<bool>(type: "INTEGER", nullable: false),
                    Promoted = table.Column<bool>(type: "INTEGER", nullable: false),
                    BatchWaitSeconds = table.Column<int>(type: "INTEGER", nullable: false),
                    HealthWaitSeconds = table.Column<int>(type: "INTEGER", nullable: false),
                    TimeoutSeconds = table.Column<int>(type: "INTEGER", nullable: true),
                    QueueTtlSeconds = table.Column<int>(type: "INTEGER", nullable: true),
                    MaxFailures = table.Column<int>(type: "INTEGER", nullable: false),
                    MaxFailuresSpec = table.Column<string>(type: "TEXT", nullable: false),
                    OnFailure = table.Column<string>(type: "TEXT", nullable: false),
                    Offline = table.Column<string>(type: "TEXT", nullable: false),
                    FailuresAccepted = table.Column<int>(type: "INTEGER", nullable: false),
                    CreatedBy = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedByRestricted = table.Column<bool>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    StartedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    FinishedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    LastEventSeq = table.Column<long>(type: "INTEGER", nullable: false),
                    LeaseOwner = table.Column<string>(type: "TEXT", nullable: true),
                    LeaseUntil = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Rollouts", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "RolloutTargets",
                columns: table => new
                {
                    RolloutId = table.Column<string>(type: "TEXT", nullable: false),
                    Ordinal = table.Column<int>(type: "INTEGER", nullable: false),
                    AgentId = table.Column<string>(type: "TEXT", nullable: false),
                    Batch = table.Column<int>(type: "INTEGER", nullable: false),
                    State = table.Column<string>(type: "TEXT", nullable: false),
                    JobId = table.Column<string>(type: "TEXT", nullable: true),
                    JobStatus = table.Column<string>(type: "TEXT", nullable: true),
                    Revision = table.Column<int>(type: "INTEGER", nullable: true),
                    PreviousRevision = table.Column<int>(type: "INTEGER", nullable: true),
                    RollbackOf = table.Column<int>(type: "INTEGER", nullable: true),
                    RollbackJobId = table.Column<string>(type: "TEXT", nullable: true),
                    RollbackRevision = table.Column<int>(type: "INTEGER", nullable: true),
                    Error = table.Column<string>(type: "TEXT", nullable: false),
                    StartedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    FinishedAt = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RolloutTargets", x => new { x.RolloutId, x.Ordinal });
                });

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
                name: "RolloutEvents");

            migrationBuilder.DropTable(
                name: "Rollouts");

            migrationBuilder.DropTable(
                name: "RolloutTargets");

            migrationBuilder.DropColumn(
                name: "AnnouncedLabelsJson",
                table: "Agents");

            migrationBuilder.DropColumn(
                name: "LabelOverridesJson",
                table: "Agents");
        }
    }
}
