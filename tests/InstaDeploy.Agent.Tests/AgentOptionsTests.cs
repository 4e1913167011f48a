using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace InstaDeploy.Agent.Tests;

public sealed class AgentOptionsTests
{
    private static (AgentOptions? Options, IReadOnlyList<string> Problems) Read(params (string Key, string? Value)[] settings) =>
        AgentOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, s.Value))).Build());

    [Fact]
    public void TheSeedsVariablesConfigureTheAgentWithSensibleDefaults()
    {
        var (options, problems) = Read(("SERVER_URL", "ws://localhost:8000/ws"), ("AGENT_SECRET_TOKEN", "t0ken"));
        Assert.Empty(problems);
        Assert.Equal(new Uri("ws://localhost:8000/ws"), options!.ServerUrl);
        Assert.Equal("1.0.0", options.Version);
        Assert.Equal(Environment.MachineName, options.Hostname);
        Assert.Matches("^(linux|darwin|windows)-(amd64|arm64|386|arm)$", options.Architecture);
        Assert.Equal(Path.GetFullPath("./projects"), options.ProjectsDirectory);
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "plugins"), options.PluginsDirectory);
    }

    [Theory]
    [InlineData("AGENT_POLICY", "maybe", "AGENT_POLICY 'maybe' is neither on nor off")]
    [InlineData("AGENT_POLICY_BIND_ALLOW", "/srv/apps,data", "AGENT_POLICY_BIND_ALLOW: 'data' is not an absolute path")]
    [InlineData("AGENT_POLICY_CAP_ADD_ALLOW", "NET_ADMIN,sys admin", "AGENT_POLICY_CAP_ADD_ALLOW: 'sys admin' is not a capability name")]
    public void AMistypedPolicySettingStopsTheAgentNamingIt(string setting, string value, string expected)
    {
        var (options, problems) = Read(("SERVER_URL", "ws://x/ws"), ("AGENT_SECRET_TOKEN", "t"), (setting, value));
        Assert.Null(options);
        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void AgentTokenIsTheFallbackForAgentSecretToken()
    {
        Assert.Equal("fallback", Read(("SERVER_URL", "ws://x/ws"), ("AGENT_TOKEN", "fallback")).Options!.Token);
        Assert.Equal("secret", Read(("SERVER_URL", "ws://x/ws"), ("AGENT_TOKEN", "fallback"), ("AGENT_SECRET_TOKEN", "secret")).Options!.Token);
    }

    [Theory]
    [InlineData(null, "t", "SERVER_URL is not set")]
    [InlineData("http://localhost:8000/ws", "t", "not a ws:// or wss:// URL")]
    [InlineData("not a url", "t", "not a ws:// or wss:// URL")]
    [InlineData("ws://localhost:8000/ws", null, "AGENT_SECRET_TOKEN (or AGENT_TOKEN) is not set")]
    public void MissingOrWrongSettingsAreNamed(string? serverUrl, string? token, string expected)
    {
        var (options, problems) = Read(("SERVER_URL", serverUrl), ("AGENT_SECRET_TOKEN", token));
        Assert.Null(options);
        Assert.Contains(problems, p => p.Contains(expected));
    }

    [Fact]
    public async Task TheAgentProcessWithoutSettingsExitsWithCode2AndSaysWhatToSet()
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "InstaDeploy.Agent.dll")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var name in new[] { "SERVER_URL", "AGENT_SECRET_TOKEN", "AGENT_TOKEN" }) start.Environment.Remove(name);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2, process.ExitCode);
        var message = await stderr;
        Assert.Contains("SERVER_URL is not set", message);
        Assert.Contains("AGENT_SECRET_TOKEN (or AGENT_TOKEN) is not set", message);
        Assert.DoesNotContain("   at ", message);
    }
}
