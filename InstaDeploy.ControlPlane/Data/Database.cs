using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace InstaDeploy.ControlPlane.Data;

/// <summary>
/// Plain SQL access to the store, for the paths that run on every command, result and line of output (no DbContext, no
/// LINQ translation): SQLite by default, PostgreSQL when INSTADEPLOY_POSTGRES is set. The SQL the hot paths use is
/// written once, with the few differences between the two spelled here.
/// </summary>
public sealed class Database : IAsyncDisposable
{
    private readonly NpgsqlDataSource? _postgres;
    private readonly string? _sqlite;

    private Database(NpgsqlDataSource? postgres, string? sqlite, string name)
    {
        _postgres = postgres;
        _sqlite = sqlite;
        Name = name;
    }

    public static Database Sqlite(string databasePath) => new(null, $"Data Source={databasePath};Pooling=True;Default Timeout=30", databasePath);

    public static Database Postgres(string connectionString)
    {
        var source = NpgsqlDataSource.Create(connectionString);
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        return new(source, null, $"postgresql://{settings.Host}:{settings.Port}/{settings.Database}");
    }

    /// <summary>What the store is, for logs and messages: the SQLite file, or the PostgreSQL server and database (never a password).</summary>
    public string Name { get; }

    public bool IsPostgres => _postgres is not null;

    /// <summary>A pooled connection, open.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_postgres is not null) return await _postgres.OpenConnectionAsync(cancellationToken);
        var connection = new SqliteConnection(_sqlite);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    /// <summary>A connection of its own (not pooled), open: the group-commit writer keeps one for its lifetime.</summary>
    public DbConnection OpenDedicated(bool synchronousNormal)
    {
        if (_postgres is not null) return _postgres.OpenConnection();
        var connection = new SqliteConnection(_sqlite!.Replace("Pooling=True", "Pooling=False", StringComparison.Ordinal));
        connection.Open();
        if (synchronousNormal)
        {
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA synchronous=NORMAL;";
            pragma.ExecuteNonQuery();
        }
        return connection;
    }

    /// <summary><c>group_concat</c> (SQLite) or <c>string_agg</c> (PostgreSQL) of <paramref name="column"/>, in order.</summary>
    public string ConcatText(string column, string orderBy) =>
        IsPostgres ? $"string_agg({column}, '' ORDER BY {orderBy})" : $"group_concat({column}, '' ORDER BY {orderBy})";

    /// <summary>The length in bytes (UTF-8) of a text column.</summary>
    public string ByteLength(string column) => IsPostgres ? $"octet_length({column})" : $"length(CAST({column} AS BLOB))";

    /// <summary>Whether <paramref name="exception"/> says a row with the same key exists.</summary>
    public static bool IsDuplicateKey(Exception exception) => exception switch
    {
        SqliteException { SqliteErrorCode: 19 } => true, // SQLITE_CONSTRAINT
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } => true,
        _ => false,
    };

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null) await _postgres.DisposeAsync();
    }
}

/// <summary>Parameters by name, the same way on both providers.</summary>
internal static class DbCommands
{
    public static DbCommand Sql(this DbConnection connection, string sql, DbTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    /// <summary>A parameter; a null says its type (<paramref name="nullType"/>, text unless told), as PostgreSQL needs one.</summary>
    public static DbParameter Add(this DbCommand command, string name, object? value, System.Data.DbType nullType = System.Data.DbType.String)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        if (value is null or DBNull) parameter.DbType = nullType;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
