using InstaDeploy.ControlPlane;
using InstaDeploy.ControlPlane.Agents;
using InstaDeploy.ControlPlane.ApiKeys;
using InstaDeploy.ControlPlane.Audit;
using InstaDeploy.ControlPlane.Backups;
using InstaDeploy.ControlPlane.Deployments;
using InstaDeploy.ControlPlane.Hub;
using InstaDeploy.ControlPlane.Infrastructure;
using InstaDeploy.ControlPlane.Jobs;
using InstaDeploy.ControlPlane.Registries;
using InstaDeploy.ControlPlane.Releases;
using InstaDeploy.ControlPlane.Rollouts;
using InstaDeploy.ControlPlane.WebConsole;
using InstaDeploy.ControlPlane.Webhooks;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;

// `InstaDeploy.ControlPlane backup|restore ...` are the operator's commands (docs/DEPLOYMENT.md), not the service.
if (BackupCommands.Handles(args)) return await BackupCommands.RunAsync(args);

// The content root is the app's folder, not the current directory: `dotnet /opt/instadeploy/InstaDeploy.ControlPlane.dll`
// started from anywhere (systemd, a container, the bench) must still read its appsettings.json (log levels included).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddServiceDefaults(Telemetry.Name);
builder.AddControlPlane();
builder.AddConsole();

var app = builder.Build();
try
{
    // Reading the options validates them, so a missing AGENT_SECRET_TOKEN stops the start with a clear message.
    _ = app.Services.GetRequiredService<IOptions<ControlPlaneOptions>>().Value;
    _ = app.Services.GetRequiredService<IOptions<ConsoleOptions>>().Value;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"InstaDeploy control plane cannot start: {string.Join(" ", e.Failures)}");
    return 2;
}
if (await app.IsDatabaseFromNewerReleaseAsync()) return 2;
await app.MigrateDatabaseAsync();
await app.EnsureAdminKeyAsync();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseWebSockets();
app.UseAuthentication();
app.UseUnauthenticatedThrottle();
app.UseAuthorization();
app.UseRateLimiter();
app.UseAntiforgery();

app.MapOpenApi();
app.MapScalarApiReference();
app.MapDefaultEndpoints();
app.MapAgentHub();
app.MapAgentsApi();
app.MapDeploymentsApi();
app.MapRevisionsApi();
app.MapContainerLogsApi();
app.MapVariablesApi();
app.MapJobsApi();
app.MapRolloutsApi();
app.MapApiKeysApi();
app.MapEnrollmentApi();
app.MapBackupsApi();
app.MapConsole();
app.MapRegistriesApi();
app.MapAuditApi();
app.MapWebhooksApi();
app.MapReleasesApi();
app.MapAgentMetricsApi();

await app.RunAsync();
return 0;

public partial class Program;
