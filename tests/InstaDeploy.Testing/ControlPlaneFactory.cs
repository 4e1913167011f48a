using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InstaDeploy.Testing;

/// <summary>
/// The real control plane on real Kestrel at 127.0.0.1 (a free port), with its SQLite database in a fresh temporary
/// folder. Settings are passed the way an operator passes them (by their environment-variable names).
/// With INSTADEPLOY_TEST_POSTGRES set (an admin connection string; eng/setup-postgres.sh starts a server and eng/test.sh
/// passes it), the store is instead a database of its own on that PostgreSQL server, made here and dropped on dispose,
/// unless the test names its store itself (INSTADEPLOY_POSTGRES in its settings, empty for SQLite).
/// </summary>
public sealed class ControlPlaneFactory : WebApplicationFactory<Program>
{
    public const string DefaultAgentToken = "test-agent-token-0123456789abcdef0123";
    public const string AdminApiKey = "idk_test-admin-key-0123456789abcdef";

    private readonly Dictionary<string, string?> _settings;
    private readonly TimeProvider? _time;
    private readonly bool _ownsDataDirectory;
    private readonly bool _tls;
    private readonly TestPostgres? _postgres;

    /// <summary>The PostgreSQL server the tests run on when set (an Npgsql connection string with rights to create databases).</summary>
    public const string PostgresServerVariable = "INSTADEPLOY_TEST_POSTGRES";

    /// <summary>The setting that names the store; a test about the SQLite file itself sets it empty, to stay on SQLite.</summary>
    public const string SqliteSetting = "INSTADEPLOY_POSTGRES";

    /// <summary>Whether this test run puts the control planes it starts on PostgreSQL.</summary>
    public static bool TestsOnPostgres => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(PostgresServerVariable));

    /// <summary>Whether this control plane's store is PostgreSQL.</summary>
    public bool OnPostgres => !string.IsNullOrWhiteSpace(_settings.GetValueOrDefault("INSTADEPLOY_POSTGRES"));

    public ControlPlaneFactory(IDictionary<string, string?>? settings = null, TimeProvider? time = null,
        System.Security.Cryptography.X509Certificates.X509Certificate2? tlsCertificate = null)
    {
        _tls = tlsCertificate is not null;
        _ownsDataDirectory = settings?.ContainsKey("INSTADEPLOY_DATA_DIR") != true;
        DataDirectory = settings?.TryGetValue("INSTADEPLOY_DATA_DIR", out var given) == true && given is not null
            ? given
            : Directory.CreateTempSubdirectory("instadeploy-cp-").FullName;
        _settings = new Dictionary<string, string?>
        {
            ["AGENT_SECRET_TOKEN"] = DefaultAgentToken,
            ["INSTADEPLOY_DATA_DIR"] = DataDirectory,
            ["INSTADEPLOY_ADMIN_API_KEY"] = AdminApiKey,
        };
        var postgresServer = Environment.GetEnvironmentVariable(PostgresServerVariable);
        if (!string.IsNullOrWhiteSpace(postgresServer) && settings?.ContainsKey("INSTADEPLOY_POSTGRES") != true)
        {
            // A test that brings its own data folder restarts the control plane on it: the database goes with the folder.
            if (_ownsDataDirectory) _postgres = TestPostgres.Create(postgresServer);
            _settings["INSTADEPLOY_POSTGRES"] = (_postgres ?? TestPostgres.ForDataDirectory(postgresServer, DataDirectory)).ConnectionString;
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) _settings[key] = value;
        _time = time;
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (tlsCertificate is not null) listen.UseHttps(tlsCertificate);
        }));
    }

    public string DataDirectory { get; }

    /// <summary>Everything the control plane logged.</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    public string AgentToken => _settings["AGENT_SECRET_TOKEN"]!;

    /// <summary>The server's base address, e.g. http://127.0.0.1:40123.</summary>
    public Uri BaseAddress
    {
        get
        {
            StartServer();
            var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new Uri(address);
        }
    }

    /// <summary>The agents' WebSocket URL, as an agent's SERVER_URL.</summary>
    public Uri WebSocketUrl => new(BaseAddress.ToString().Replace("https://", "wss://").Replace("http://", "ws://") + "ws");

    /// <summary>A plain HTTP client for the REST API with the admin key, as curl or a CI pipeline would call it.</summary>
    public HttpClient CreateApiClient(string? apiKey = AdminApiKey)
    {
        // Over TLS the tests' own client trusts the test certificate; the agent under test gets no such shortcut.
        var client = _tls
            ? new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator }) { BaseAddress = BaseAddress }
            : new HttpClient { BaseAddress = BaseAddress };
        if (apiKey is not null) client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        builder.UseEnvironment("Testing");
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        if (_time is not null)
            builder.ConfigureTestServices(services => services.AddSingleton(_time));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && _ownsDataDirectory)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
        }
        if (disposing) _postgres?.Dispose();
    }
}

/// <summary>Reading the REST API's snake_case JSON in tests.</summary>
public static class Api
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>(Json);

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostAsJsonAsync(path, body, Json);

    public static async Task<JsonElement> GetJsonAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        if (!response.IsSuccessStatusCode)
        {
            // The problem details say which failure it was (a flaky 503 is otherwise only a status code).
            var body = await response.Content.ReadAsStringAsync();
            throw new HttpRequestException($"GET {path} answered {(int)response.StatusCode}: {(body.Length > 2000 ? body[..2000] + "…" : body)}", null, response.StatusCode);
        }
        return await response.ReadJsonAsync();
    }

    /// <summary>Polls GET /jobs/{id} until the job is in a terminal state, and returns it.</summary>
    public static async Task<JsonElement> WaitForJobAsync(this HttpClient client, string jobId, TimeSpan? timeout = null)
    {
        JsonElement job = default;
        await Eventually.TrueAsync(async () =>
        {
            job = await client.GetJsonAsync($"/jobs/{jobId}");
            return job.GetProperty("status").GetString() is "COMPLETED" or "FAILED" or "TIMED_OUT" or "EXPIRED";
        }, timeout ?? TimeSpan.FromSeconds(60), $"job {jobId} to finish");
        return job;
    }

    /// <summary>Waits until GET /agents/{id} shows the agent online.</summary>
    public static Task WaitForAgentOnlineAsync(this HttpClient client, string agentId, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(async () =>
        {
            using var response = await client.GetAsync($"/agents/{agentId}");
            return response.IsSuccessStatusCode && (await response.ReadJsonAsync()).GetProperty("online").GetBoolean();
        }, timeout ?? TimeSpan.FromSeconds(30), $"agent {agentId} to be online");
}
