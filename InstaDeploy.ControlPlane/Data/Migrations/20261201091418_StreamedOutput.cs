using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace InstaDeploy.ControlPlane.Data.Migrations
{
    /// <inheritdoc />
    public partial class StreamedOutput : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "LogLinesDropped",
                table: "Jobs",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "SecretsProtected",
                table: "Jobs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "JobOutput",
                columns: table => new
                {
                    JobId = table.Column<string>(type: "TEXT", nullable: false),
                    Seq = table.Column<long>(type: "INTEGER", nullable: false),
                    LineCount = table.Column<int>(type: "INTEGER", nullable: false),
                    Text = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobOutput", x => new { x.JobId, x.Seq });
                });

            // Jobs made by earlier releases kept a deploy's encrypted variables inside the payload ("env_protected"), and
            // a running job's output in Logs: move both where this release keeps them, so queued jobs still go out.
            migrationBuilder.Sql("""
                UPDATE "Jobs" SET "SecretsProtected" = json_extract("PayloadJson", '$.env_protected'),
                    "PayloadJson" = json_remove("PayloadJson", '$.env_protected')
                WHERE json_valid("PayloadJson") AND json_type("PayloadJson", '$.env_protected') = 'text';
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "JobOutput");

            migrationBuilder.DropColumn(
                name: "LogLinesDropped",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "SecretsProtected",
                table: "Jobs");
        }
    }
}
