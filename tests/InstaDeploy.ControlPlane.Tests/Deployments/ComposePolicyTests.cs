using System.Net;
using InstaDeploy.Compose;

namespace InstaDeploy.ControlPlane.Tests.Deployments;

public sealed class ComposePolicyTests
{
    private static readonly string[] Allowed = ["/srv/apps", "/var/lib/instadeploy"];

    private static IReadOnlyList<string> Check(string services, string extra = "") =>
        ComposePolicy.Check($"services:\n{services}{extra}", Allowed);

    [Theory]
    [InlineData("  web:\n    image: x\n")]
    [InlineData("  web:\n    image: x\n    privileged: false\n")]
    [InlineData("  web:\n    image: x\n    network_mode: bridge\n")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - data:/data\n      - ./config:/config:ro\n      - /srv/apps/web:/www\n")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - type: bind\n        source: /var/lib/instadeploy/cache\n        target: /cache\n")]
    public void AnOrdinaryComposeFilePasses(string services) => Assert.Empty(Check(services));

    [Theory]
    [InlineData("  web:\n    image: x\n    privileged: true\n", "service 'web' sets privileged: true")]
    [InlineData("  web:\n    image: x\n    privileged: yes\n", "privileged")]
    [InlineData("  web:\n    image: x\n    network_mode: host\n", "network_mode: host")]
    [InlineData("  web:\n    image: x\n    pid: host\n", "pid: host")]
    [InlineData("  web:\n    image: x\n    ipc: host\n", "ipc: host")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - /:/host\n", "bind-mounts '/'")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n", "/var/run/docker.sock")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - /srv/apps/../../etc:/etc2\n", "/srv/apps/../../etc")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - /srv/appsX:/x\n", "/srv/appsX")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - ../../etc:/etc2\n", "../../etc")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - ~/.ssh:/ssh\n", "~/.ssh")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - type: bind\n        source: /etc\n        target: /etc2\n", "'/etc'")]
    // Project variables are filled in after the check: a field the policy reads may not come from one.
    [InlineData("  web:\n    image: x\n    privileged: ${P}\n", "sets privileged from a variable ('${P}')")]
    [InlineData("  web:\n    image: x\n    network_mode: $NET\n", "sets network_mode from a variable")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - ${SRC}:/h\n", "mounts a volume given by a variable ('${SRC}:/h')")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - type: ${T}\n        source: data\n        target: /d\n", "mounts a volume given by a variable ('${T}')")]
    public void WhatThePolicyRefusesIsNamed(string services, string expected)
    {
        var violation = Assert.Single(Check(services));
        Assert.Contains(expected, violation);
    }

    [Fact]
    public void ANamedVolumeThatBindsAHostPathIsRefused()
    {
        var violations = Check("  web:\n    image: x\n    volumes:\n      - sneaky:/data\n",
            "volumes:\n  sneaky:\n    driver: local\n    driver_opts:\n      type: none\n      o: bind\n      device: /etc\n");
        Assert.Contains("volume 'sneaky' binds the host path '/etc'", Assert.Single(violations));
    }

    [Fact]
    public async Task WithThePolicyOnTheControlPlaneRefusesAPrivilegedDeployAndSendsNothing()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?>
        {
            ["INSTADEPLOY_POLICY"] = "true",
            ["INSTADEPLOY_POLICY_BIND_ALLOW"] = "/srv/apps",
        });
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => ("COMPLETED", "", ""));
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "vps-1");
        await api.WaitForAgentOnlineAsync("vps-1");

        var compose = Convert.ToBase64String("services:\n  web:\n    image: x\n    privileged: true\n    volumes:\n      - /etc:/host-etc\n"u8.ToArray());
        using var response = await api.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = compose });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = (await response.ReadJsonAsync()).GetProperty("detail").GetString();
        Assert.Contains("the deploy policy refuses it", detail);
        Assert.Contains("privileged: true", detail);
        Assert.Contains("bind-mounts '/etc'", detail);
        Assert.Empty(agent.ReceivedCommands);
        Assert.Equal(0, (await api.GetJsonAsync("/jobs")).GetArrayLength());
    }
}
