using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace InstaDeploy.ControlPlane.Data.Migrations
{
    /// <inheritdoc />
    public partial class RevisionsAndVariables : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "CurrentRevision",
                table: "Deployments",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "ProjectVariables",
                columns: table => new
                {
                    ProjectName = table.Column<string>(type: "TEXT", nullable: false),
                    AgentId = table.Column<string>(type: "TEXT", nullable: false),
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    Value = table.Column<string>(type: "TEXT", nullable: false),
                    Secret = table.Column<bool>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ProjectVariables", x => new { x.ProjectName, x.AgentId, x.Name });
                });

            migrationBuilder.CreateTable(
                name: "Revisions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ProjectName = table.Column<string>(type: "TEXT", nullable: false),
                    Number = table.Column<int>(type: "INTEGER", nullable: false),
                    AgentId = table.Column<string>(type: "TEXT", nullable: false),
                    JobId = table.Column<string>(type: "TEXT", nullable: false),
                    ComposeSha256 = table.Column<string>(type: "TEXT", nullable: false),
                    ComposeYaml = table.Column<string>(type: "TEXT", nullable: false),
                    VariablesProtected = table.Column<string>(type: "TEXT", nullable: true),
                    VariableNames = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedBy = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    FinishedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    Outcome = table.Column<string>(type: "TEXT", nullable: false),
                    RollbackOf = table.Column<int>(type: "INTEGER", nullable: true),
                    RolledBackTo = table.Column<int>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Revisions", x => x.Id);
                });

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
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ProjectVariables");

            migrationBuilder.DropTable(
                name: "Revisions");

            migrationBuilder.DropColumn(
                name: "CurrentRevision",
                table: "Deployments");
        }
    }
}
