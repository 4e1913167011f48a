using Npgsql;

namespace InstaDeploy.Testing;

/// <summary>A database of its own on a shared PostgreSQL test server: made empty, dropped (with its connections) on dispose.</summary>
public sealed class TestPostgres : IDisposable
{
    private readonly string _server;
    private readonly string _name;

    private TestPostgres(string server, string name, string connectionString)
    {
        _server = server;
        _name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The connection string of this test's database, as INSTADEPLOY_POSTGRES.</summary>
    public string ConnectionString { get; }

    public static TestPostgres Create(string server)
    {
        var name = $"instadeploy_test_{Guid.NewGuid():N}";
        using (var connection = new NpgsqlConnection(server))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            command.ExecuteNonQuery();
        }
        var settings = new NpgsqlConnectionStringBuilder(server) { Database = name };
        return new TestPostgres(server, name, settings.ConnectionString);
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        using var connection = new NpgsqlConnection(_server);
        connection.Open();
        using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", connection);
        command.ExecuteNonQuery();
    }
}
