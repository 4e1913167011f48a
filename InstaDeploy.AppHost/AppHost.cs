using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

// The local fleet: one control plane on http://localhost:8000, N agents (InstaDeploy:AgentCount, default 3), and the
// Aspire dashboard receiving everyone's OpenTelemetry. With --InstaDeploy:ControlPlaneReplicas=3: a local PostgreSQL,
// three control-plane instances on it (8001-8003) and HAProxy on 8000 in front, which the agents dial.
var builder = DistributedApplication.CreateBuilder(args);

// Secrets are parameters: set them with user secrets or Parameters__agent-token=...; unset, a random value is
// generated once and kept in the AppHost's user secrets, so the fleet works on a fresh machine.
var agentToken = builder.AddParameter("agent-token", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);
var adminApiKey = builder.AddParameter("admin-api-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

var dataRoot = builder.Configuration["InstaDeploy:DataDirectory"] is { Length: > 0 } configured
    ? Path.GetFullPath(configured)
    : Path.Combine(builder.AppHostDirectory, ".fleet");

var port = builder.Configuration.GetValue("InstaDeploy:ControlPlanePort", 8000);
var replicas = builder.Configuration.GetValue("InstaDeploy:ControlPlaneReplicas", 1);
if (replicas < 1) throw new InvalidOperationException($"InstaDeploy:ControlPlaneReplicas must be 1 or more (it is {replicas}).");
var repositoryRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));

IResourceBuilder<IResourceWithEndpoints> front; // what agents and users talk to, on the port of the README's examples
IResourceBuilder<ProjectResource> first;
if (replicas == 1)
{
    // One instance, on SQLite in its data folder (the default: no database server to run).
    first = ControlPlane("control-plane", port, null);
    front = first;
}
else
{
    // Several instances on one PostgreSQL (docs/SCALING.md): the machine's own server binaries, as an executable
    // resource (no container registry is needed), the instances on the ports after, and HAProxy in front.
    var postgresPort = builder.Configuration.GetValue("InstaDeploy:PostgresPort", port + 100);
    builder.Services.AddHealthChecks().AddAsyncCheck("postgres-accepts", async cancellationToken =>
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync(System.Net.IPAddress.Loopback, postgresPort, cancellationToken);
            return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy();
        }
        catch (System.Net.Sockets.SocketException e)
        {
            return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy(e.Message);
        }
    });
    var postgres = builder.AddExecutable("postgres", "bash", repositoryRoot, Path.Combine(repositoryRoot, "eng", "fleet-postgres.sh"), Path.Combine(dataRoot, "postgres"), postgresPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
        .WithHealthCheck("postgres-accepts");
    var connection = $"Host=127.0.0.1;Port={postgresPort};Username=postgres;Database=postgres";
    var instances = new List<(string Name, int Port)> { ("control-plane-1", port + 1) };
    first = ControlPlane("control-plane-1", port + 1, connection).WaitFor(postgres);
    for (var i = 2; i <= replicas; i++)
    {
        // The first creates the shared key ring; the others start once it is there.
        ControlPlane($"control-plane-{i}", port + i, connection).WaitFor(postgres).WaitFor(first);
        instances.Add(($"control-plane-{i}", port + i));
    }
    var config = Path.Combine(dataRoot, "haproxy.cfg");
    Directory.CreateDirectory(dataRoot);
    File.WriteAllText(config, HaproxyConfig.For(File.ReadAllText(Path.Combine(repositoryRoot, "examples", "haproxy", "haproxy.cfg")), instances));
    var tools = Path.Combine(repositoryRoot, "artifacts", "tools", "haproxy");
    var unpacked = Path.Combine(tools, "usr", "sbin", "haproxy");
    front = builder.AddExecutable("haproxy", File.Exists(unpacked) ? unpacked : "haproxy", dataRoot, "-db", "-f", config)
        .WithEnvironment("LD_LIBRARY_PATH", Path.Combine(tools, "usr", "lib", "x86_64-linux-gnu"))
        .WithEnvironment("INSTADEPLOY_LB_BIND", "127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture))
        .WithHttpEndpoint(port: port, isProxied: false)
        .WithHttpHealthCheck("/health")
        .WaitFor(first);
}

IResourceBuilder<ProjectResource> ControlPlane(string name, int instancePort, string? postgres)
{
    var resource = builder.AddProject<Projects.InstaDeploy_ControlPlane>(name)
        // Not proxied: the control plane itself listens on its port (InstaDeploy:ControlPlanePort, 8000), so the
        // README's curl examples work unchanged.
        .WithEndpoint("http", endpoint =>
        {
            endpoint.IsProxied = false;
            endpoint.Port = instancePort;
        })
        .WithEnvironment("AGENT_SECRET_TOKEN", agentToken)
        .WithEnvironment("INSTADEPLOY_ADMIN_API_KEY", adminApiKey)
        .WithEnvironment("INSTADEPLOY_DATA_DIR", Path.Combine(dataRoot, name))
        .WithHttpHealthCheck("/health");
    if (postgres is not null)
    {
        resource.WithEnvironment("INSTADEPLOY_POSTGRES", postgres)
            .WithEnvironment("INSTADEPLOY_INSTANCE_ID", name)
            .WithEnvironment("INSTADEPLOY_KEY_RING_DIR", Path.Combine(dataRoot, "key-ring")); // one key ring for every instance
    }
    return resource;
}

var agentCount = builder.Configuration.GetValue("InstaDeploy:AgentCount", 3);
var endpoint = front.GetEndpoint("http");
for (var i = 1; i <= agentCount; i++)
{
    var name = $"agent-{i}";
    builder.AddProject<Projects.InstaDeploy_Agent>(name)
        .WithReference(endpoint)
        .WithEnvironment("SERVER_URL", ReferenceExpression.Create($"ws://{endpoint.Property(EndpointProperty.HostAndPort)}/ws"))
        .WithEnvironment("AGENT_SECRET_TOKEN", agentToken)
        .WithEnvironment("AGENT_HOSTNAME", name)
        .WithEnvironment("AGENT_PROJECTS_DIR", Path.Combine(dataRoot, name, "projects"))
        // Its own journal and key: agents that shared one folder would present each other's keys.
        .WithEnvironment("AGENT_STATE_DIR", Path.Combine(dataRoot, name, "state"))
        .WaitFor(first);
}

builder.Build().Run();
