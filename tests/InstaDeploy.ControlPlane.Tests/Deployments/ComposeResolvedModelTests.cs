using InstaDeploy.Compose;

namespace InstaDeploy.ControlPlane.Tests.Deployments;

/// <summary>
/// The agent's check on compose's resolved model, in both shapes: compose v1 prints YAML (short volume syntax, relative
/// paths made absolute), compose v2 prints JSON with --format json (long syntax everywhere, '$' written as '$$').
/// The engine tests run it on what the installed compose really prints; these pin both shapes.
/// </summary>
public sealed class ComposeResolvedModelTests
{
    private static readonly PolicySettings Settings = PolicySettings.FromLists("/srv/apps", "", "AGENT_POLICY_BIND_ALLOW", "AGENT_POLICY_CAP_ADD_ALLOW");

    private const string Project = "/srv/instadeploy/projects/shop";

    [Fact]
    public void ComposeV2sJsonModelIsReadAndChecked()
    {
        const string json = """
            {
              "name": "shop",
              "services": {
                "web": {
                  "image": "local/busybox:1",
                  "command": ["sh", "-c", "echo $$HOME"],
                  "privileged": true,
                  "cgroup": "host",
                  "cap_add": ["SYS_ADMIN"],
                  "networks": {"default": null},
                  "volumes": [
                    {"type": "bind", "source": "/srv/instadeploy/projects/shop/data", "target": "/data", "bind": {"create_host_path": true}},
                    {"type": "bind", "source": "/etc", "target": "/host-etc"},
                    {"type": "volume", "source": "cache", "target": "/cache", "volume": {}}
                  ],
                  "env_file": [{"path": "/etc/shadow", "required": true}]
                },
                "ok": {"image": "local/busybox:1", "network_mode": "service:web", "privileged": false}
              },
              "networks": {"default": {"name": "shop_default", "ipam": {}}},
              "volumes": {"cache": {"name": "shop_cache", "driver_opts": {"type": "none", "o": "bind", "device": "/root"}}}
            }
            """;
        var violations = ComposePolicy.CheckResolved(json, Settings, Project);
        Assert.Equal(
        [
            "service 'web' sets privileged: true",
            "service 'web' sets cap_add: SYS_ADMIN, and no capability may be added (AGENT_POLICY_CAP_ADD_ALLOW)",
            "service 'web' sets cgroup: host",
            "service 'web' bind-mounts '/etc', outside the project folder and the allowed host paths (/srv/apps: AGENT_POLICY_BIND_ALLOW)",
            "service 'web' sets env_file to '/etc/shadow', outside the project folder and the allowed host paths (/srv/apps: AGENT_POLICY_BIND_ALLOW)",
            "volume 'cache' binds the host path '/root', outside the project folder and the allowed host paths (/srv/apps: AGENT_POLICY_BIND_ALLOW) (driver_opts)",
        ], violations);
    }

    [Fact]
    public void ComposeV1sYamlModelIsReadAndChecked()
    {
        const string yaml = """
            services:
              web:
                image: local/busybox:1
                network_mode: host
                volumes:
                - /srv/instadeploy/projects/shop/data:/data:rw
                - /srv/instadeploy/projects/shop:/project:rw
                - /srv/apps/shop:/apps:rw
            version: '3.9'
            """;
        Assert.Equal(
        [
            "service 'web' sets network_mode: host",
            "service 'web' bind-mounts '/srv/instadeploy/projects/shop', which exposes the project's compose file or its .instadeploy folder",
        ], ComposePolicy.CheckResolved(yaml, Settings, Project));
    }

    [Fact]
    public void AnOrdinaryModelPassesAndAnUnreadableOneDoesNot()
    {
        Assert.Empty(ComposePolicy.CheckResolved("""{"services": {"web": {"image": "x", "volumes": [{"type": "bind", "source": "/srv/instadeploy/projects/shop/data", "target": "/d"}]}}}""", Settings, Project));
        Assert.Contains("cannot be read", Assert.Single(ComposePolicy.CheckResolved("{\"services\": " + new string('[', 100) + new string(']', 100) + "}", Settings, Project)));
        Assert.Contains("no services", Assert.Single(ComposePolicy.CheckResolved("version: '3'\n", Settings, Project)));
    }

    [Fact]
    public void SymbolicLinksUnderTheProjectFolderAreResolved()
    {
        var project = Directory.CreateTempSubdirectory("instadeploy-links-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(project, "data"));
            File.CreateSymbolicLink(Path.Combine(project, "data", "root"), "/");
            File.CreateSymbolicLink(Path.Combine(project, "data", "state"), "../.instadeploy");
            File.CreateSymbolicLink(Path.Combine(project, "data", "inside"), "../data");
            var yaml = $"services:\n  web:\n    image: x\n    volumes:\n    - {project}/data/root/etc:/e:rw\n    - {project}/data/state/history:/h:rw\n    - {project}/data/inside:/i:rw\n";
            var violations = ComposePolicy.CheckResolved(yaml, Settings, project);
            Assert.Equal(2, violations.Count);
            Assert.Contains("(through a symbolic link: '/etc')", violations[0]);
            Assert.Contains($"(through a symbolic link: '{project}/.instadeploy/history'), which exposes", violations[1]);
        }
        finally
        {
            Directory.Delete(project, recursive: true);
        }
    }
}
