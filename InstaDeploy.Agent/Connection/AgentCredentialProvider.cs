using System.Net.Http.Json;
using System.Text.Json;

namespace InstaDeploy.Agent.Connection;

/// <summary>
/// The token the agent presents: its own key when it has one (AGENT_KEY_FILE), else — with AGENT_ENROLLMENT_TOKEN —
/// a key it gets now by enrolling (and keeps, owner-only), else the shared AGENT_SECRET_TOKEN, with which the control
/// plane issues it a key of its own on the first connection (kept the same way).
/// </summary>
internal sealed class AgentCredentialProvider(AgentOptions options, IHttpClientFactory httpClients, ILogger<AgentCredentialProvider> logger)
{
    public async Task<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        if (File.Exists(options.KeyFile)) return (await File.ReadAllTextAsync(options.KeyFile, cancellationToken)).Trim();
        if (options.EnrollmentToken is null) return options.Token!;

        // POST <control plane>/agents/enroll, derived from SERVER_URL (ws://host:port/ws -> http://host:port/agents/enroll).
        var builder = new UriBuilder(options.ServerUrl) { Scheme = options.ServerUrl.Scheme == "wss" ? "https" : "http" };
        builder.Path = builder.Path.EndsWith("/ws", StringComparison.Ordinal) ? builder.Path[..^3] + "/agents/enroll" : "/agents/enroll";
        using var client = httpClients.CreateClient("enrollment");
        using var request = new HttpRequestMessage(HttpMethod.Post, builder.Uri)
        {
            Content = JsonContent.Create(new Dictionary<string, string> { ["agent_id"] = options.Hostname }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", options.EnrollmentToken);
        using var response = await client.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var problem = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new EnrollmentException($"enrollment was refused (HTTP {(int)response.StatusCode}): {Detail(problem)}");
        }
        var key = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("agent_key").GetString()!;
        await StoreKeyAsync(key, cancellationToken);
        logger.Enrolled(options.Hostname, options.KeyFile);
        return key;
    }

    /// <summary>Keeps the key the control plane issued on a shared-token connection: presented from the next one on.</summary>
    public async Task StoreIssuedKeyAsync(string key, CancellationToken cancellationToken)
    {
        await StoreKeyAsync(key.Trim(), cancellationToken);
        logger.KeyIssued(options.Hostname, options.KeyFile);
    }

    /// <summary>Writes the key owner-only (0600), atomically, flushed to disk before it replaces any older file.</summary>
    private async Task StoreKeyAsync(string key, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(options.KeyFile)!;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
        else Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temporary = options.KeyFile + ".tmp";
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // 0600
        await using (var file = new FileStream(temporary, fileOptions))
        {
            await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(key), cancellationToken);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, options.KeyFile, overwrite: true);
    }

    private static string Detail(string problem)
    {
        try { return JsonDocument.Parse(problem).RootElement.GetProperty("detail").GetString() ?? problem; }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { return problem; }
    }
}

/// <summary>The control plane refused the enrollment; the message says why.</summary>
internal sealed class EnrollmentException(string message) : Exception(message);
