using System.Diagnostics;
using System.Net;
using System.Text;

namespace InstaDeploy.EndToEnd.Tests;

/// <summary>One deploy is one trace, from the REST request across the WebSocket to the docker compose process, and
/// no token shows up in any log line or span.</summary>
public sealed class TelemetryTests : IAsyncLifetime
{
    private readonly ActivityRecorder _spans = new("Microsoft.AspNetCore", "InstaDeploy.ControlPlane", "InstaDeploy.Agent", "InstaDeploy.Agent.Process");

    // Telemetry is on when an OTLP endpoint is configured, as under the AppHost. This one is a loopback port nothing
    // listens on: the spans are read in-process by the recorder above, and the exporter's sends go nowhere.
    private static readonly Dictionary<string, string?> WithTelemetry = new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{FleetFixture.FreePort()}" };
    private readonly ControlPlaneFactory _controlPlane = new(WithTelemetry);
    private TestAgent _agent = null!;
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        _api = _controlPlane.CreateApiClient();
        _agent = await TestAgent.StartAsync(_controlPlane.WebSocketUrl, _controlPlane.AgentToken, "trace-agent", WithTelemetry);
        await _api.WaitForAgentOnlineAsync("trace-agent");
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _api.Dispose();
        await _controlPlane.DisposeAsync();
        _spans.Dispose();
    }

    [Fact]
    public async Task ADeployIsOneTraceFromTheRestRequestThroughTheAgentToTheComposeProcess()
    {
        var project = E2E.Project("traced");
        try
        {
            var compose = "services:\n  web:\n    image: local/busybox:1\n    command: [\"sleep\", \"300\"]\n    init: true\n";
            using var response = await _api.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(compose)) });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var jobId = (await response.ReadJsonAsync()).GetProperty("job_id").GetString()!;
            var job = await _api.WaitForJobAsync(jobId, TimeSpan.FromMinutes(2));
            Assert.Equal("COMPLETED", job.GetProperty("status").GetString());

            Activity Span(Func<Activity, bool> match, string what)
            {
                Activity? found = null;
                Eventually.TrueAsync(() => (found = _spans.Stopped.FirstOrDefault(match)) is not null, TimeSpan.FromSeconds(10), what).GetAwaiter().GetResult();
                return found!;
            }
            bool OfJob(Activity a) => Equals(a.GetTagItem("instadeploy.job.id"), jobId);

            var dispatch = Span(a => a.Source.Name == "InstaDeploy.ControlPlane" && a.OperationName == "dispatch DEPLOY_COMPOSE" && OfJob(a), "the dispatch span");
            var trace = dispatch.TraceId;
            var request = Span(a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == trace && a.Kind == ActivityKind.Server, "the REST request span");
            var handler = Span(a => a.Source.Name == "InstaDeploy.Agent" && OfJob(a), "the agent's handler span");
            var process = Span(a => a.Source.Name == "InstaDeploy.Agent.Process" && a.TraceId == trace && (a.GetTagItem("process.command_args") as string ?? "").Contains(" up -d"), "the compose process span");
            var result = Span(a => a.Source.Name == "InstaDeploy.ControlPlane" && a.OperationName == "job result" && OfJob(a), "the result span");

            Assert.Equal("POST", request.GetTagItem("http.request.method"));
            Assert.Equal(request.SpanId, dispatch.ParentSpanId);
            Assert.Equal(trace, handler.TraceId);
            Assert.Equal(dispatch.SpanId, handler.ParentSpanId); // the agent continued the trace from the command's traceparent
            Assert.Equal(handler.SpanId, process.ParentSpanId);
            Assert.Equal(trace, result.TraceId);
            Assert.Equal(dispatch.SpanId, result.ParentSpanId);
            foreach (var span in new[] { dispatch, handler, result })
            {
                Assert.Equal("DEPLOY_COMPOSE", span.GetTagItem("instadeploy.command.type"));
                Assert.Equal("trace-agent", span.GetTagItem("instadeploy.agent.id"));
                Assert.Equal(project, span.GetTagItem("instadeploy.project"));
            }
            Assert.Equal("COMPLETED", result.GetTagItem("instadeploy.job.outcome"));

            // Logs written inside the handler carry the deploy's trace id.
            Assert.Contains(_agent.Logs.Lines, l => l.Contains($"Job {jobId}: running DEPLOY_COMPOSE") && l.Contains($"[trace_id={trace}]"));
            Assert.Contains(_controlPlane.Logs.Lines, l => l.Contains($"Job {jobId} (DEPLOY_COMPOSE)") && l.Contains($"[trace_id={trace}]"));
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task AComposeFileCannotReadTheAgentsTokenFromItsEnvironment()
    {
        var project = E2E.Project("token-probe");
        // As on a real host, the agent's token is in its environment (systemd EnvironmentFile, the AppHost).
        Environment.SetEnvironmentVariable("AGENT_SECRET_TOKEN", _controlPlane.AgentToken);
        try
        {
            // Compose substitutes ${VAR} from its environment; the agent's token must not be there.
            var compose = "services:\n  web:\n    image: \"local/busybox:${AGENT_SECRET_TOKEN:-no-token-here}\"\n";
            using var response = await _api.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(compose)) });
            var job = await _api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(2));
            Assert.Equal("FAILED", job.GetProperty("status").GetString());
            Assert.DoesNotContain(_controlPlane.AgentToken, job.GetRawText());
            Assert.Contains("no-token-here", job.GetRawText());
        }
        finally
        {
            Environment.SetEnvironmentVariable("AGENT_SECRET_TOKEN", null);
            await FleetFixture.RemoveProjectContainersAsync(project);
        }
    }

    [Fact]
    public async Task AfterADeployNoTokenOrKeyAppearsInAnyLogLineOrSpan()
    {
        var wrong = "wrong-token-that-must-not-be-logged";
        await using (var intruder = await TestAgent.StartAsync(_controlPlane.WebSocketUrl, wrong, "intruder"))
        {
            await Eventually.TrueAsync(() => intruder.Logs.Lines.Any(l => l.Contains("HTTP 401")), TimeSpan.FromSeconds(10), "the 401");
        }
        using var response = await _api.PostAsync("/agents/trace-agent/health", null);
        await _api.WaitForJobAsync((await response.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        var project = E2E.Project("no-secrets");
        try
        {
            var compose = "services:\n  web:\n    image: local/busybox:1\n    command: [\"sleep\", \"300\"]\n    init: true\n";
            using var deploy = await _api.PostJsonAsync("/deploy", new { project_name = project, compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(compose)) });
            var job = await _api.WaitForJobAsync((await deploy.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromMinutes(2));
            Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
            Assert.DoesNotContain(_controlPlane.AgentToken, job.GetRawText());
        }
        finally
        {
            await FleetFixture.RemoveProjectContainersAsync(project);
        }

        var everything = _controlPlane.Logs.Lines.Concat(_agent.Logs.Lines)
            .Concat(_spans.Stopped.SelectMany(s => s.Tags.Select(t => $"{t.Key}={t.Value}").Append(s.DisplayName).Append(s.StatusDescription ?? "")))
            .ToList();
        Assert.NotEmpty(everything);
        Assert.DoesNotContain(everything, line => line.Contains(_controlPlane.AgentToken));
        Assert.DoesNotContain(everything, line => line.Contains(ControlPlaneFactory.AdminApiKey));
        Assert.DoesNotContain(everything, line => line.Contains(wrong));
    }
}
