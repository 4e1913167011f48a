using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace InstaDeploy.ControlPlane.Data;

/// <summary>
/// Sets <c>PRAGMA synchronous=NORMAL</c> on every connection when INSTADEPLOY_DB_SYNCHRONOUS=NORMAL: the setting
/// belongs to a connection, not to the database file, and Microsoft.Data.Sqlite has no connection-string keyword for it.
/// </summary>
internal sealed class SynchronousNormalInterceptor : DbConnectionInterceptor
{
    public static readonly SynchronousNormalInterceptor Instance = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous=NORMAL;";
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous=NORMAL;";
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
