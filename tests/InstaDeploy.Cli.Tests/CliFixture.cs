using System.Text.Json;

namespace InstaDeploy.Cli.Tests;

/// <summary>One real control plane (Kestrel, SQLite) and one real agent with the built-in plugins on the real Docker
/// engine, shared by every CLI test class (starting them costs seconds).</summary>
public sealed class CliFixture : IAsyncLifetime
{
    public const string AgentId = "cli-agent";

    public ControlPlaneFactory ControlPlane { get; } = new();

    public TestAgent Agent { get; private set; } = null!;

    /// <summary>The REST API with the admin key: what the CLI's answers are checked against.</summary>
    public HttpClient Api { get; private set; } = null!;

    public Uri Url => ControlPlane.BaseAddress;

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        Api = ControlPlane.CreateApiClient();
        Agent = await TestAgent.StartAsync(ControlPlane.WebSocketUrl, ControlPlane.AgentToken, AgentId);
        await Api.WaitForAgentOnlineAsync(AgentId);
    }

    public async Task DisposeAsync()
    {
        await Agent.DisposeAsync();
        Api.Dispose();
        await ControlPlane.DisposeAsync();
    }

    /// <summary>A user logged in to this control plane (context "test") with the admin key.</summary>
    public async Task<CliUser> LoggedInUserAsync()
    {
        var user = new CliUser();
        await user.LogInAsync("test", Url, ControlPlaneFactory.AdminApiKey);
        return user;
    }

    /// <summary>A new API key with the given scopes, made over the REST API.</summary>
    public async Task<(string Id, string Key)> CreateKeyAsync(string name, params string[] scopes)
    {
        using var response = await Api.PostJsonAsync("/api-keys", new { name, scopes });
        response.EnsureSuccessStatusCode();
        var created = await response.ReadJsonAsync();
        return (created.GetProperty("id").GetString()!, created.GetProperty("key").GetString()!);
    }

    public static string UniqueProject(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    public static JsonElement Json(string text)
    {
        try
        {
            return JsonElement.Parse(text);
        }
        catch (JsonException e)
        {
            throw new Xunit.Sdk.XunitException($"not JSON ({e.Message}):\n{text}");
        }
    }

    /// <summary>The property names of a JSON object, sorted: the shape a script relies on.</summary>
    public static string[] Shape(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];
}

[CollectionDefinition(Name)]
public sealed class CliCollection : ICollectionFixture<CliFixture>
{
    public const string Name = "CLI against a control plane and agent";
}
