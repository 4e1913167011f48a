using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace InstaDeploy.ControlPlane.Data.PostgresMigrations
{
    /// <inheritdoc />
    public partial class JobCountsAndListIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "IX_Deployments_LastJobId",
                table: "Deployments",
                column: "LastJobId");

            migrationBuilder.CreateIndex(
                name: "IX_Deployments_PreviousJobId",
                table: "Deployments",
                column: "PreviousJobId");

            migrationBuilder.DropIndex(
                name: "IX_Webhooks_ProjectName",
                table: "Webhooks");

            migrationBuilder.DropIndex(
                name: "IX_Rollouts_ProjectName_CreatedAt",
                table: "Rollouts");

            migrationBuilder.DropIndex(
                name: "IX_Rollouts_State_CreatedAt",
                table: "Rollouts");

            migrationBuilder.DropIndex(
                name: "IX_AuditLog_Action_At",
                table: "AuditLog");

            migrationBuilder.DropIndex(
                name: "IX_AuditLog_ActorId_At",
                table: "AuditLog");

            migrationBuilder.DropIndex(
                name: "IX_AuditLog_Target_At",
                table: "AuditLog");

            migrationBuilder.CreateTable(
                name: "JobCountDeltas",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    AgentId = table.Column<string>(type: "text", nullable: false),
                    Status = table.Column<string>(type: "text", nullable: false),
                    Delta = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobCountDeltas", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "JobCounts",
                columns: table => new
                {
                    AgentId = table.Column<string>(type: "text", nullable: false),
                    Status = table.Column<string>(type: "text", nullable: false),
                    Count = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobCounts", x => new { x.AgentId, x.Status });
                });

            migrationBuilder.CreateIndex(
                name: "IX_Webhooks_CreatedAt_Id",
                table: "Webhooks",
                columns: new[] { "CreatedAt", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_Webhooks_ProjectName_CreatedAt_Id",
                table: "Webhooks",
                columns: new[] { "ProjectName", "CreatedAt", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_CreatedAt_Id",
                table: "Rollouts",
                columns: new[] { "CreatedAt", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_ProjectName_CreatedAt_Id",
                table: "Rollouts",
                columns: new[] { "ProjectName", "CreatedAt", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_ProjectName_State_CreatedAt_Id",
                table: "Rollouts",
                columns: new[] { "ProjectName", "State", "CreatedAt", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_State_CreatedAt_Id",
                table: "Rollouts",
                columns: new[] { "State", "CreatedAt", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_Revisions_ProjectName_AgentId_Number",
                table: "Revisions",
                columns: new[] { "ProjectName", "AgentId", "Number" });

            migrationBuilder.CreateIndex(
                name: "IX_EnrollmentTokens_CreatedAt_Id",
                table: "EnrollmentTokens",
                columns: new[] { "CreatedAt", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_Deployments_AgentId_ProjectName",
                table: "Deployments",
                columns: new[] { "AgentId", "ProjectName" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditLog_Action_Id",
                table: "AuditLog",
                columns: new[] { "Action", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditLog_ActorId_Id",
                table: "AuditLog",
                columns: new[] { "ActorId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditLog_ActorName_Id",
                table: "AuditLog",
                columns: new[] { "ActorName", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditLog_Outcome_Id",
                table: "AuditLog",
                columns: new[] { "Outcome", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditLog_Target_Id",
                table: "AuditLog",
                columns: new[] { "Target", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_ApiKeys_CreatedAt_Id",
                table: "ApiKeys",
                columns: new[] { "CreatedAt", "Id" });

            // Counters kept by the database itself, in the statement that changes a job, so in its transaction whatever
            // path wrote it (see JobCountEntity). Several instances write at once here: a change appends deltas (no row
            // two transactions wait on), which JobCountCompactor folds into the counters.
            migrationBuilder.Sql("""
                CREATE FUNCTION "Jobs_Counts"() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP IN ('UPDATE', 'DELETE') THEN
                        INSERT INTO "JobCountDeltas" ("AgentId", "Status", "Delta") VALUES (OLD."AgentId", OLD."Status", -1);
                    END IF;
                    IF TG_OP IN ('INSERT', 'UPDATE') THEN
                        INSERT INTO "JobCountDeltas" ("AgentId", "Status", "Delta") VALUES (NEW."AgentId", NEW."Status", 1);
                    END IF;
                    RETURN NULL;
                END $$;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "Jobs_Counts_Insert_Delete" AFTER INSERT OR DELETE ON "Jobs" FOR EACH ROW EXECUTE FUNCTION "Jobs_Counts"();
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "Jobs_Counts_Update" AFTER UPDATE OF "Status", "AgentId" ON "Jobs" FOR EACH ROW
                WHEN (OLD."Status" IS DISTINCT FROM NEW."Status" OR OLD."AgentId" IS DISTINCT FROM NEW."AgentId") EXECUTE FUNCTION "Jobs_Counts"();
                """);
            // The jobs there are already: counted once, here.
            migrationBuilder.Sql("""
                INSERT INTO "JobCounts" ("AgentId", "Status", "Count") SELECT "AgentId", "Status", COUNT(*) FROM "Jobs" GROUP BY "AgentId", "Status";
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Deployments_LastJobId",
                table: "Deployments");

            migrationBuilder.DropIndex(
                name: "IX_Deployments_PreviousJobId",
                table: "Deployments");

            migrationBuilder.Sql("""DROP TRIGGER "Jobs_Counts_Insert_Delete" ON "Jobs";""");
            migrationBuilder.Sql("""DROP TRIGGER "Jobs_Counts_Update" ON "Jobs";""");
            migrationBuilder.Sql("""DROP FUNCTION "Jobs_Counts"();""");

            migrationBuilder.DropTable(
                name: "JobCountDeltas");

            migrationBuilder.DropTable(
                name: "JobCounts");

            migrationBuilder.DropIndex(
                name: "IX_Webhooks_CreatedAt_Id",
                table: "Webhooks");

            migrationBuilder.DropIndex(
                name: "IX_Webhooks_ProjectName_CreatedAt_Id",
                table: "Webhooks");

            migrationBuilder.DropIndex(
                name: "IX_Rollouts_CreatedAt_Id",
                table: "Rollouts");

            migrationBuilder.DropIndex(
                name: "IX_Rollouts_ProjectName_CreatedAt_Id",
                table: "Rollouts");

            migrationBuilder.DropIndex(
                name: "IX_Rollouts_ProjectName_State_CreatedAt_Id",
                table: "Rollouts");

            migrationBuilder.DropIndex(
                name: "IX_Rollouts_State_CreatedAt_Id",
                table: "Rollouts");

            migrationBuilder.DropIndex(
                name: "IX_Revisions_ProjectName_AgentId_Number",
                table: "Revisions");

            migrationBuilder.DropIndex(
                name: "IX_EnrollmentTokens_CreatedAt_Id",
                table: "EnrollmentTokens");

            migrationBuilder.DropIndex(
                name: "IX_Deployments_AgentId_ProjectName",
                table: "Deployments");

            migrationBuilder.DropIndex(
                name: "IX_AuditLog_Action_Id",
                table: "AuditLog");

            migrationBuilder.DropIndex(
                name: "IX_AuditLog_ActorId_Id",
                table: "AuditLog");

            migrationBuilder.DropIndex(
                name: "IX_AuditLog_ActorName_Id",
                table: "AuditLog");

            migrationBuilder.DropIndex(
                name: "IX_AuditLog_Outcome_Id",
                table: "AuditLog");

            migrationBuilder.DropIndex(
                name: "IX_AuditLog_Target_Id",
                table: "AuditLog");

            migrationBuilder.DropIndex(
                name: "IX_ApiKeys_CreatedAt_Id",
                table: "ApiKeys");

            migrationBuilder.CreateIndex(
                name: "IX_Webhooks_ProjectName",
                table: "Webhooks",
                column: "ProjectName");

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_ProjectName_CreatedAt",
                table: "Rollouts",
                columns: new[] { "ProjectName", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_State_CreatedAt",
                table: "Rollouts",
                columns: new[] { "State", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditLog_Action_At",
                table: "AuditLog",
                columns: new[] { "Action", "At" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditLog_ActorId_At",
                table: "AuditLog",
                columns: new[] { "ActorId", "At" });

            migrationBuilder.CreateIndex(
                name: "IX_AuditLog_Target_At",
                table: "AuditLog",
                columns: new[] { "Target", "At" });
        }
    }
}
