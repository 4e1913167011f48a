using System.Net;
using System.Net.Http.Json;
using System.Text;
using InstaDeploy.Compose;

namespace InstaDeploy.ControlPlane.Tests.Deployments;

public sealed class ComposePolicyTests
{
    private static readonly PolicySettings Settings =
        PolicySettings.FromLists("/srv/apps,/var/lib/instadeploy/", "net_admin", "INSTADEPLOY_POLICY_BIND_ALLOW", "INSTADEPLOY_POLICY_CAP_ADD_ALLOW");

    private static IReadOnlyList<string> Check(string services, string extra = "", ComposeVariables? variables = null) =>
        ComposePolicy.Check($"services:\n{services}{extra}", Settings, variables ?? ComposeVariables.None);

    [Theory]
    [InlineData("  web:\n    image: x\n")]
    [InlineData("  web:\n    image: x\n    privileged: false\n")]
    [InlineData("  web:\n    image: x\n    privileged: \"no\"\n")]
    [InlineData("  web:\n    image: x\n    network_mode: bridge\n")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - data:/data\n      - ./config:/config:ro\n      - /srv/apps/web:/www\n      - /anonymous\n")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - type: bind\n        source: /var/lib/instadeploy/cache\n        target: /cache\n")]
    [InlineData("  web:\n    image: x\n    cap_add: [NET_ADMIN, cap_net_admin]\n    cap_drop: [ALL]\n")]
    [InlineData("  web:\n    image: x\n    security_opt: [\"no-new-privileges:true\", \"apparmor=docker-default\", \"label=level:s0:c100\"]\n")]
    [InlineData("  web:\n    image: x\n    sysctls: {net.core.somaxconn: 1024, kernel.shmmax: 1}\n")]
    [InlineData("  web:\n    image: x\n  side:\n    image: x\n    network_mode: service:web\n    pid: \"service:web\"\n")]
    [InlineData("  web:\n    image: x\n    container_name: the-web\n  side:\n    image: x\n    ipc: container:the-web\n")]
    [InlineData("  web:\n    image: x\n    env_file: [.env, ./config/web.env]\n    build: {context: ./web, dockerfile: Dockerfile}\n")]
    [InlineData("  web:\n    image: \"x:${TAG:-1}\"\n    command: [\"sh\", \"-c\", \"echo $$HOME $1\"]\n    environment: {HOME_DIR: $HOME}\n")]
    public void AnOrdinaryComposeFilePasses(string services) => Assert.Empty(Check(services));

    [Fact]
    public void TheOrdinaryTestFilePasses() =>
        Assert.Empty(ComposePolicy.Check(PolicyAttackFiles.Ordinary("shared-settings.yml"), Settings, ComposeVariables.None));

    [Theory]
    [InlineData("  web:\n    image: x\n    privileged: true\n", "service 'web' sets privileged: true")]
    [InlineData("  web:\n    image: x\n    privileged: yes\n", "privileged: yes")]
    [InlineData("  web:\n    image: x\n    privileged: \"On\"\n", "privileged: On")]
    [InlineData("  web:\n    image: x\n    network_mode: host\n", "network_mode: host")]
    [InlineData("  web:\n    image: x\n    pid: host\n", "pid: host")]
    [InlineData("  web:\n    image: x\n    ipc: host\n", "ipc: host")]
    [InlineData("  web:\n    image: x\n    uts: host\n", "uts: host")]
    [InlineData("  web:\n    image: x\n    userns_mode: host\n", "userns_mode: host")]
    [InlineData("  web:\n    image: x\n    cgroup: host\n", "cgroup: host")]
    [InlineData("  web:\n    image: x\n    network_mode: service:db\n", "a service this project does not define")]
    [InlineData("  web:\n    image: x\n    network_mode: container:db\n", "a container outside this project")]
    [InlineData("  web:\n    image: x\n    cap_add: [SYS_ADMIN]\n", "sets cap_add: SYS_ADMIN, which is not an allowed capability (NET_ADMIN: INSTADEPLOY_POLICY_CAP_ADD_ALLOW)")]
    [InlineData("  web:\n    image: x\n    devices: [\"/dev/sda:/dev/sda\"]\n", "sets devices (/dev/sda:/dev/sda)")]
    [InlineData("  web:\n    image: x\n    device_cgroup_rules: [\"a *:* rwm\"]\n", "device_cgroup_rules")]
    [InlineData("  web:\n    image: x\n    security_opt: [\"seccomp:unconfined\"]\n", "security_opt: seccomp:unconfined")]
    [InlineData("  web:\n    image: x\n    security_opt: [\"seccomp=/etc/allow-all.json\"]\n", "security_opt")]
    [InlineData("  web:\n    image: x\n    volumes_from: [db]\n", "volumes_from")]
    [InlineData("  web:\n    image: x\n    sysctls: [\"kernel.core_pattern=|/x\"]\n", "sysctls: kernel.core_pattern")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - /:/host\n", "bind-mounts '/'")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n", "/var/run/docker.sock")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - /srv/apps/../../etc:/etc2\n", "/srv/apps/../../etc")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - /srv/appsX:/x\n", "/srv/appsX")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - ../../etc:/etc2\n", "'../../etc', which leaves the project folder")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - ~/.ssh:/ssh\n", "~/.ssh")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - type: bind\n        source: /etc\n        target: /etc2\n", "'/etc'")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - type: volume\n        source: /etc\n        target: /etc2\n", "'/etc'")]
    [InlineData("  web:\n    image: x\n    volumes: [\".:/app\"]\n", "exposes the project's compose file or its .instadeploy folder")]
    [InlineData("  web:\n    image: x\n    volumes: [\"./.instadeploy/history/3:/h\"]\n", "exposes the project's compose file")]
    [InlineData("  web:\n    image: x\n    volumes: [\"./docker-compose.yml:/c\"]\n", "exposes the project's compose file")]
    [InlineData("  web:\n    image: x\n    env_file: /etc/shadow\n", "sets env_file to '/etc/shadow'")]
    [InlineData("  web:\n    image: x\n    env_file: [{path: ../../etc/passwd, required: false}]\n", "sets env_file to '../../etc/passwd'")]
    [InlineData("  web:\n    extends: {file: /srv/other/compose.yml, service: web}\n", "sets extends.file to '/srv/other/compose.yml'")]
    [InlineData("  web:\n    build: /\n", "sets build to '/'")]
    [InlineData("  web:\n    build: {context: \"git@example.invalid:x/y.git\"}\n", "build.context to a remote source")]
    [InlineData("  web:\n    build: {context: ., dockerfile: ../../Dockerfile}\n", "build.dockerfile")]
    [InlineData("  web:\n    build: {context: ., ssh: [default]}\n", "build.ssh")]
    [InlineData("  web:\n    build: {context: ., network: host}\n", "build.network: host")]
    [InlineData("  web:\n    image: x\n    post_start: [{command: id, privileged: true}]\n", "post_start privileged: true")]
    // Project variables are filled in on the agent: a value the control plane cannot know is not trusted.
    [InlineData("  web:\n    image: x\n    privileged: ${P}\n", "sets privileged: ")]
    [InlineData("  web:\n    image: x\n    privileged: ${P:-true}\n", "sets privileged: true")]
    [InlineData("  web:\n    image: x\n    network_mode: $DOCKER_NET\n", "sets network_mode from a variable ('$DOCKER_NET'): the variable DOCKER_NET, which compose takes from the agent's environment")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - ${HOME}:/h\n", "mounts a volume given by a variable ('${HOME}:/h')")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - ${SRC:-/etc}:/h\n", "bind-mounts '/etc'")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - type: ${T}\n        source: /etc\n        target: /d\n", "bind-mounts '/etc'")]
    [InlineData("  web:\n    image: x\n    volumes:\n      - type: ${XDG_T}\n        source: data\n        target: /d\n", "mounts a volume given by a variable ('${XDG_T}')")]
    [InlineData("  web:\n    image: x\n    pid: ${A:-${B}}\n", "a nested variable reference")]
    public void WhatThePolicyRefusesIsNamed(string services, string expected)
    {
        var violation = Assert.Single(Check(services));
        Assert.Contains(expected, violation);
    }

    [Theory]
    [InlineData("volumes:\n  sneaky:\n    driver: local\n    driver_opts:\n      type: none\n      o: bind\n      device: /etc\n", "volume 'sneaky' binds the host path '/etc'")]
    [InlineData("volumes:\n  nfs:\n    driver_opts: {type: nfs4, o: \"addr=10.0.0.1\", device: \":/x\"}\n", "volume 'nfs' mounts a network file system")]
    [InlineData("volumes:\n  disk:\n    driver_opts: {type: xfs, device: /dev/sdb}\n", "volume 'disk' mounts the host device '/dev/sdb'")]
    [InlineData("networks:\n  default:\n    external: true\n    name: host\n", "network 'default' is the host's network")]
    [InlineData("networks:\n  host:\n    external: {name: host}\n", "network 'host' is the host's network")]
    [InlineData("secrets:\n  s:\n    file: /etc/shadow\n", "secret 's' sets file to '/etc/shadow'")]
    [InlineData("configs:\n  c:\n    file: ../../etc/hosts\n", "config 'c' sets file to '../../etc/hosts', which leaves the project folder")]
    [InlineData("include:\n  - /etc/compose.yml\n", "include sets path to '/etc/compose.yml'")]
    [InlineData("include:\n  - path: [\"oci://example.invalid/x\"]\n", "include sets path to a remote source")]
    public void TopLevelDefinitionsThatReachTheHostAreRefused(string extra, string expected)
    {
        var violation = Assert.Single(Check("  web:\n    image: x\n", extra));
        Assert.Contains(expected, violation);
    }

    [Fact]
    public void ATmpfsNamedVolumeAndAnAllowedBindDevicePass() =>
        Assert.Empty(Check("  web:\n    image: x\n", "volumes:\n  t:\n    driver_opts: {type: tmpfs, device: tmpfs, o: size=10m}\n  b:\n    driver_opts: {type: none, o: bind, device: /srv/apps/b}\n"));

    [Fact]
    public void ProjectVariablesAreInterpolatedAsComposeWould()
    {
        var variables = ComposeVariables.ControlPlane([KeyValuePair.Create("DATA", "/etc"), KeyValuePair.Create("SAFE", "./data"), KeyValuePair.Create("EMPTY", "")]);
        Assert.Contains("bind-mounts '/etc'", Assert.Single(Check("  web:\n    image: x\n    volumes: [\"${DATA}:/d\"]\n", variables: variables)));
        Assert.Empty(Check("  web:\n    image: x\n    volumes: [\"${SAFE}:/d\", \"${EMPTY:-./x}:/x\", \"${UNSET-./y}:/y\"]\n", variables: variables));
        // Set but empty: '-' keeps the empty value (compose then refuses an empty source), ':-' takes the default.
        Assert.Equal(["service 'web' bind-mounts an empty path", "service 'web' bind-mounts '/srv', outside the project folder and the allowed host paths (/srv/apps, /var/lib/instadeploy: INSTADEPLOY_POLICY_BIND_ALLOW)"],
            Check("  web:\n    image: x\n    volumes: [\"${EMPTY-/srv}:/d\", \"${EMPTY:-/srv}:/e\"]\n", variables: variables));
        Assert.Contains("required and not set", Assert.Single(Check("  web:\n    image: x\n    network_mode: ${NOPE:?set it}\n", variables: variables)));
        // $$ is a literal '$', never a variable.
        Assert.Empty(Check("  web:\n    image: x\n    volumes: [\"./$${DATA}:/d\"]\n", variables: variables));
    }

    public static IEnumerable<object[]> AttackFiles() => PolicyAttackFiles.Names();

    [Theory]
    [MemberData(nameof(AttackFiles))]
    public void EveryAttackFileTheControlPlaneCanSeeIsRefusedNamingEachAttack(string name)
    {
        var file = PolicyAttackFiles.Named(name);
        var violations = ComposePolicy.Check(file.Yaml, PolicySettings.FromLists("", "", "B", "C"), ComposeVariables.None);
        if (!file.ControlPlaneSees)
        {
            Assert.Empty(violations); // the symbolic link is on the agent: its check decides (DeployPolicyOnTheEngineTests)
            return;
        }
        Assert.NotEmpty(violations);
        foreach (var attack in file.Attacks)
            Assert.True(violations.Any(v => v.Contains($"'{attack}'", StringComparison.Ordinal)), $"{name}: nothing names {attack}: {string.Join(" | ", violations)}");
    }

    [Fact]
    public void EveryDocumentIsCheckedAndLimited()
    {
        Assert.Contains("service 'evil' sets privileged: true", Check("  web:\n    image: x\n", "---\nservices:\n  evil: {image: x, privileged: true}\n"));
        var deepLater = "services:\n  web:\n    image: x\n---\nservices:\n  deep:\n    x: " + new string('[', 200_000) + new string(']', 200_000) + "\n";
        Assert.Contains("nests deeper than", ComposeValidator.Validate(deepLater));
        Assert.Contains("nests deeper than", Assert.Single(ComposePolicy.Check(deepLater, Settings, ComposeVariables.None)));
        var deepMapping = new StringBuilder("services:\n  web: {image: x}\n---\n");
        for (var i = 0; i < 5000; i++) deepMapping.Append(new string(' ', i)).Append("k:\n");
        Assert.Contains("nests deeper than", ComposeValidator.Validate(deepMapping.ToString()));
    }

    [Fact]
    public void MergeKeysFollowComposesPrecedence()
    {
        // Keys written in the mapping win over merged ones; an earlier merged mapping wins over a later one.
        Assert.Empty(Check("  web:\n    <<: {privileged: true}\n    privileged: false\n    image: x\n"));
        Assert.Single(Check("  web:\n    <<: [{privileged: true}, {privileged: false}]\n    image: x\n"));
        Assert.Empty(Check("  web:\n    <<: [{privileged: false}, {privileged: true}]\n    image: x\n"));
        Assert.Contains("sets network_mode: host", Assert.Single(ComposePolicy.Check("x-t: &t\n  services:\n    web: {image: x, network_mode: host}\n<<: *t\n", Settings, ComposeVariables.None)));
        Assert.Contains("sets network_mode: host", Assert.Single(Check("  web:\n    !!binary bmV0d29ya19tb2Rl: !!binary aG9zdA==\n    image: x\n")));
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
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "vps-1", features: InstaDeploy.Contracts.HandshakeHeaders.FeatureProjectConfig);
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

    [Fact]
    public async Task ASecretVariableIsNeverQuotedInARefusal()
    {
        await using var controlPlane = new ControlPlaneFactory(new Dictionary<string, string?> { ["INSTADEPLOY_POLICY"] = "true" });
        using var api = controlPlane.CreateApiClient();
        await using var agent = new SeedAgent((_, _, _) => ("COMPLETED", "", ""));
        await agent.ConnectAsync(controlPlane.WebSocketUrl, controlPlane.AgentToken, "vps-1", features: InstaDeploy.Contracts.HandshakeHeaders.FeatureProjectConfig);
        await api.WaitForAgentOnlineAsync("vps-1");
        using (var put = await api.PutAsJsonAsync("/deployments/app/env/DB_PASSWORD", new { value = "/hunter2-s3cr3t", secret = true }, InstaDeploy.Testing.Api.Json))
            Assert.True(put.IsSuccessStatusCode);

        var compose = Convert.ToBase64String("services:\n  web:\n    image: x\n    volumes: [\"${DB_PASSWORD}:/x\"]\n"u8.ToArray());
        using var response = await api.PostJsonAsync("/deploy", new { project_name = "app", compose_file_base64 = compose, agent_id = "vps-1" });
        var detail = (await response.ReadJsonAsync()).GetProperty("detail").GetString()!;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("bind-mounts '********'", detail);
        Assert.DoesNotContain("hunter2", detail);
    }
}
