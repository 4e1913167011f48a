using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace InstaDeploy.ControlPlane.Data.Migrations
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
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    AgentId = table.Column<string>(type: "TEXT", nullable: false),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    Delta = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobCountDeltas", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "JobCounts",
                columns: table => new
                {
                    AgentId = table.Column<string>(type: "TEXT", nullable: false),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    Count = table.Column<long>(type: "INTEGER", nullable: false)
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
            // path wrote it (see JobCountEntity). SQLite has one writer at a time: the counters are updated in place.
            migrationBuilder.Sql("""
                CREATE TRIGGER "Jobs_Counts_Insert" AFTER INSERT ON "Jobs" BEGIN
                    INSERT INTO "JobCounts" ("AgentId", "Status", "Count") VALUES (NEW."AgentId", NEW."Status", 1)
                        ON CONFLICT ("AgentId", "Status") DO UPDATE SET "Count" = "Count" + 1;
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "Jobs_Counts_Update" AFTER UPDATE OF "Status", "AgentId" ON "Jobs"
                WHEN OLD."Status" IS NOT NEW."Status" OR OLD."AgentId" IS NOT NEW."AgentId" BEGIN
                    UPDATE "JobCounts" SET "Count" = "Count" - 1 WHERE "AgentId" = OLD."AgentId" AND "Status" = OLD."Status";
                    INSERT INTO "JobCounts" ("AgentId", "Status", "Count") VALUES (NEW."AgentId", NEW."Status", 1)
                        ON CONFLICT ("AgentId", "Status") DO UPDATE SET "Count" = "Count" + 1;
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "Jobs_Counts_Delete" AFTER DELETE ON "Jobs" BEGIN
                    UPDATE "JobCounts" SET "Count" = "Count" - 1 WHERE "AgentId" = OLD."AgentId" AND "Status" = OLD."Status";
                END;
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

            migrationBuilder.Sql("""DROP TRIGGER "Jobs_Counts_Insert";""");
            migrationBuilder.Sql("""DROP TRIGGER "Jobs_Counts_Update";""");
            migrationBuilder.Sql("""DROP TRIGGER "Jobs_Counts_Delete";""");

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
