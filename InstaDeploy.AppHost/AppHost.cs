using Microsoft.Extensions.Configuration;

// The local fleet: one control plane on http://localhost:8000, N agents (InstaDeploy:AgentCount, default 3), and the
// Aspire dashboard receiving everyone's OpenTelemetry.
var builder = DistributedApplication.CreateBuilder(args);

// Secrets are parameters: set them with user secrets or Parameters__agent-token=...; unset, a random value is
// generated once and kept in the AppHost's user secrets, so the fleet works on a fresh machine.
var agentToken = builder.AddParameter("agent-token", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);
var adminApiKey = builder.AddParameter("admin-api-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

var dataRoot = builder.Configuration["InstaDeploy:DataDirectory"] is { Length: > 0 } configured
    ? Path.GetFullPath(configured)
    : Path.Combine(builder.AppHostDirectory, ".fleet");

var controlPlane = builder.AddProject<Projects.InstaDeploy_ControlPlane>("control-plane")
    // Not proxied: the control plane itself listens on 8000 (InstaDeploy:ControlPlanePort), so the README's curl
    // examples work unchanged.
    .WithEndpoint("http", endpoint =>
    {
        endpoint.IsProxied = false;
        endpoint.Port = builder.Configuration.GetValue("InstaDeploy:ControlPlanePort", 8000);
    })
    .WithEnvironment("AGENT_SECRET_TOKEN", agentToken)
    .WithEnvironment("INSTADEPLOY_ADMIN_API_KEY", adminApiKey)
    .WithEnvironment("INSTADEPLOY_DATA_DIR", Path.Combine(dataRoot, "control-plane"))
    .WithHttpHealthCheck("/health");

var agentCount = builder.Configuration.GetValue("InstaDeploy:AgentCount", 3);
var endpoint = controlPlane.GetEndpoint("http");
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
        .WaitFor(controlPlane);
}

builder.Build().Run();
