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

    /// <summary>The test PostgreSQL server: INSTADEPLOY_TEST_POSTGRES, else the one eng/setup-postgres.sh started.</summary>
    public static string Server()
    {
        var given = Environment.GetEnvironmentVariable(ControlPlaneFactory.PostgresServerVariable);
        if (!string.IsNullOrWhiteSpace(given)) return given;
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var file = Path.Combine(folder.FullName, "artifacts", "postgres", "connection-string");
            if (File.Exists(file)) return File.ReadAllText(file).Trim();
        }
        throw new InvalidOperationException("No PostgreSQL server for the tests: run bash eng/setup-postgres.sh (eng/test.sh does), or set INSTADEPLOY_TEST_POSTGRES to an Npgsql connection string that may create databases.");
    }

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

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, TestPostgres> ByFolder = new(StringComparer.Ordinal);

    /// <summary>The one database of a data folder, for tests that start several control planes on one folder in turn;
    /// dropped when the test process ends.</summary>
    public static TestPostgres ForDataDirectory(string server, string folder) =>
        ByFolder.GetOrAdd(folder, _ =>
        {
            var database = Create(server);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { database.Dispose(); } catch (NpgsqlException) { } };
            return database;
        });

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        using var connection = new NpgsqlConnection(_server);
        connection.Open();
        using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", connection);
        command.ExecuteNonQuery();
    }
}
