using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace InstaDeploy.ControlPlane.Data.Migrations
{
    /// <inheritdoc />
    public partial class ApiKeyHostAccess : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Keys made before per-key host access keep what they could do (admin keys need it anyway); only keys created
            // from now on are restricted unless created with host_access.
            migrationBuilder.AddColumn<bool>(
                name: "HostAccess",
                table: "ApiKeys",
                type: "INTEGER",
                nullable: false,
                defaultValue: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "HostAccess",
                table: "ApiKeys");
        }
    }
}
