using System.Net;
using System.Net.Sockets;

namespace InstaDeploy.EndToEnd.Tests;

/// <summary>One control plane (real Kestrel, real SQLite) and one real agent with the built-in plugins, on a real Docker engine.</summary>
public sealed class FleetFixture : IAsyncLifetime
{
    public const string AgentId = "e2e-agent";

    public ControlPlaneFactory ControlPlane { get; } = new();

    public TestAgent Agent { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

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

    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Removes whatever a test left of a compose project, so a failed test does not leak containers.</summary>
    public static async Task RemoveProjectContainersAsync(string composeProject)
    {
        foreach (var name in await DockerCli.ContainersOfProjectAsync(composeProject))
            await DockerCli.RunAsync("rm", "-f", name);
        await DockerCli.RunAsync("network", "rm", $"{composeProject}_default");
    }
}
