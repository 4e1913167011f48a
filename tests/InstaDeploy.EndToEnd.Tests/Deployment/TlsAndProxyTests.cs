using System.Net;
using System.Text;

namespace InstaDeploy.EndToEnd.Tests.Deployment;

/// <summary>
/// The three TLS set-ups of docs/DEPLOYMENT.md, with real processes and a private CA made here: Kestrel serving the
/// certificate files named in its settings, and the nginx and Caddy examples (examples/) in front of a control plane
/// on loopback. In each, a real agent dials wss:// trusting the CA through AGENT_CA_CERT, comes online, and runs a
/// command sent over its socket; the REST API answers over https through the same address.
/// </summary>
public sealed class TlsAndProxyTests
{
    [Fact]
    public async Task KestrelServesTheCertificateFilesNamedInItsSettingsAndAnAgentConnectsOverWss()
    {
        await using var fleet = new ProcessFleet();
        using var certificates = TestCertificates.Create();
        var (ca, certificate, key) = certificates.WritePemFiles(Path.Combine(fleet.Root, "tls"));
        var https = new Uri($"https://localhost:{fleet.ControlPlanePort}");
        using var api = certificates.CreateClient(https, ProcessFleet.AdminApiKey);

        await fleet.StartControlPlaneAsync(new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"https://127.0.0.1:{fleet.ControlPlanePort}",
            ["Kestrel__Certificates__Default__Path"] = certificate,
            ["Kestrel__Certificates__Default__KeyPath"] = key,
        }, probe: api);

        await AssertAgentWorksThroughAsync(fleet, api, new Uri($"wss://localhost:{fleet.ControlPlanePort}/ws"), ca, "tls-kestrel");
    }

    [Fact]
    public async Task AnAgentConnectsThroughTheNginxExampleAndLargeComposeFilesPassIt()
    {
        await using var fleet = new ProcessFleet();
        using var certificates = TestCertificates.Create();
        var folder = Path.Combine(fleet.Root, "nginx");
        var (ca, certificate, key) = certificates.WritePemFiles(folder);
        var (port, redirectPort) = (ProcessFleet.FreePort(), ProcessFleet.FreePort());
        var site = ExampleFiles.Fill("nginx/instadeploy.conf",
            ("listen 443 ssl;", $"listen 127.0.0.1:{port} ssl;"),
            ("listen [::]:443 ssl;", ""),
            ("listen 80;", $"listen 127.0.0.1:{redirectPort};"),
            ("listen [::]:80;", ""),
            ("server_name deploy.example.com;", "server_name localhost;"),
            ("/etc/ssl/instadeploy/fullchain.pem", certificate),
            ("/etc/ssl/instadeploy/privkey.pem", key),
            ("http://127.0.0.1:8000", fleet.ControlPlaneUrl.ToString().TrimEnd('/')));
        // The example is a site file (sites-available/); this is the part of nginx.conf around it, in a folder of its own.
        var configuration = Path.Combine(folder, "nginx.conf");
        await File.WriteAllTextAsync(configuration, $$"""
            daemon off;
            worker_processes 1;
            {{(Environment.UserName == "root" ? "user root;" : "")}}
            pid {{folder}}/nginx.pid;
            error_log stderr notice;
            events { worker_connections 256; }
            http {
                access_log off;
                client_body_temp_path {{folder}}/client_body;
                proxy_temp_path {{folder}}/proxy;
                fastcgi_temp_path {{folder}}/fastcgi;
                uwsgi_temp_path {{folder}}/uwsgi;
                scgi_temp_path {{folder}}/scgi;
            {{site}}
            }
            """);

        await fleet.StartControlPlaneAsync();
        var nginx = ExampleFiles.Start("nginx", ExampleFiles.Tool("nginx", "usr/sbin/nginx"), ["-p", folder, "-c", configuration, "-e", "stderr"]);
        try
        {
            await ExampleFiles.WaitForPortAsync(nginx, port);
            using var api = certificates.CreateClient(new Uri($"https://localhost:{port}"), ProcessFleet.AdminApiKey);
            await AssertAgentWorksThroughAsync(fleet, api, new Uri($"wss://localhost:{port}/ws"), ca, "tls-nginx");

            // A compose file near INSTADEPLOY_MAX_COMPOSE_BYTES reaches the control plane (nginx's own default would
            // refuse its ~1.3 MB request with 413): the control plane's answer, a 404 for the unknown agent, comes back.
            var large = "services:\n  web:\n    image: local/busybox:1\n" + string.Concat(Enumerable.Repeat("# padding to make the file large ........................................\n", 12_000));
            using var deploy = await api.PostJsonAsync("/deploy", new { project_name = "large", agent_id = "no-such-agent", compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(large)) });
            Assert.True(deploy.StatusCode == HttpStatusCode.NotFound, $"{(int)deploy.StatusCode}: {await deploy.Content.ReadAsStringAsync()}");
            Assert.Contains("no-such-agent", (await deploy.ReadJsonAsync()).GetProperty("detail").GetString());

            // Plain http is sent on to https.
            using var plain = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
            using var redirect = await plain.GetAsync($"http://localhost:{redirectPort}/agents");
            Assert.Equal(HttpStatusCode.MovedPermanently, redirect.StatusCode);
            Assert.Equal("https", redirect.Headers.Location!.Scheme);
        }
        finally
        {
            nginx.Kill();
        }
    }

    [Fact]
    public async Task AnAgentConnectsThroughTheCaddyExample()
    {
        await using var fleet = new ProcessFleet();
        using var certificates = TestCertificates.Create();
        var folder = Path.Combine(fleet.Root, "caddy");
        var (ca, certificate, key) = certificates.WritePemFiles(folder);
        var port = ProcessFleet.FreePort();
        var site = ExampleFiles.Fill("caddy/Caddyfile",
            ("deploy.example.com {", $"https://localhost:{port} {{"),
            ("# tls /etc/caddy/tls/fullchain.pem /etc/caddy/tls/privkey.pem", $"tls {certificate} {key}"),
            ("127.0.0.1:8000", $"127.0.0.1:{fleet.ControlPlanePort}"));
        // Global options only a test needs: no admin endpoint on :2019, no http->https listener on :80.
        var caddyfile = Path.Combine(folder, "Caddyfile");
        await File.WriteAllTextAsync(caddyfile, "{\n\tadmin off\n\tauto_https disable_redirects\n}\n\n" + site);

        await fleet.StartControlPlaneAsync();
        var caddy = ExampleFiles.Start("caddy", ExampleFiles.Tool("caddy", "usr/bin/caddy"), ["run", "--config", caddyfile, "--adapter", "caddyfile"],
            new Dictionary<string, string> { ["HOME"] = folder, ["XDG_DATA_HOME"] = Path.Combine(folder, "data"), ["XDG_CONFIG_HOME"] = Path.Combine(folder, "config") });
        try
        {
            await ExampleFiles.WaitForPortAsync(caddy, port);
            using var api = certificates.CreateClient(new Uri($"https://localhost:{port}"), ProcessFleet.AdminApiKey);
            await AssertAgentWorksThroughAsync(fleet, api, new Uri($"wss://localhost:{port}/ws"), ca, "tls-caddy");
        }
        finally
        {
            caddy.Kill();
        }
    }

    /// <summary>A real agent on <paramref name="serverUrl"/>, trusting the CA file, comes online and answers a HEALTH_CHECK
    /// sent over its socket; <paramref name="api"/> goes through the same TLS endpoint.</summary>
    private static async Task AssertAgentWorksThroughAsync(ProcessFleet fleet, HttpClient api, Uri serverUrl, string caFile, string agentId)
    {
        var agent = fleet.StartAgent(agentId, serverUrl, new Dictionary<string, string> { ["AGENT_CA_CERT"] = caFile });
        try
        {
            await api.WaitForAgentOnlineAsync(agentId, TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nagent:\n{agent.Output}", e);
        }
        using var health = await api.PostAsync($"/agents/{agentId}/health", null);
        Assert.Equal(HttpStatusCode.Accepted, health.StatusCode);
        var job = await api.WaitForJobAsync((await health.ReadJsonAsync()).GetProperty("job_id").GetString()!);
        // Its result came back from the agent over the proxied socket (COMPLETED, or FAILED naming a check if this
        // machine lacks something the health check looks at).
        Assert.Equal(agentId, job.GetProperty("result").GetProperty("agent").GetProperty("hostname").GetString());
    }
}
