using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using InstaDeploy.Agent.Plugins;
using InstaDeploy.Compose;

namespace InstaDeploy.ControlPlane.Tests.Fuzzing;

/// <summary>
/// Compose files generated from the keys the policy reads, in every YAML spelling (plain, quoted, tagged keys; compose's
/// boolean spellings; anchors, aliases and merge keys; flow and block style; interpolation with and without defaults),
/// checked by the control plane as written and by the agent on the model the installed compose resolves. The control
/// plane may refuse more (it cannot know everything), never less: what the agent's check refuses, it refuses too.
/// </summary>
public sealed class PolicyDifferentialTests
{
    private static readonly PolicySettings Settings = PolicySettings.FromLists("/srv/apps", "NET_ADMIN", "B", "C");

    /// <summary>The project's variables, written to its .env for compose and given to the control plane's check.</summary>
    private static readonly Dictionary<string, string> Variables = new() { ["MODE"] = "host", ["SAFE"] = "./data", ["ROOT"] = "/", ["FLAG"] = "yes", ["EMPTY"] = "" };

    private static readonly (string Key, string[] Values)[] Attributes =
    [
        ("privileged", ["true", "false", "Yes", "no", "ON", "off", "\"y\"", "'TRUE'", "!!bool true", "${FLAG}", "${NOPE:-false}", "${NOPE:-True}"]),
        ("network_mode", ["host", "bridge", "none", "\"host\"", "service:other", "service:missing", "container:x", "${MODE}", "${NOPE:-bridge}", "${EMPTY:-host}"]),
        ("pid", ["host", "'host'", "service:other", "container:y"]),
        ("ipc", ["host", "private", "shareable", "service:other"]),
        ("userns_mode", ["host", "\"host\""]),
        ("cap_add", ["[SYS_ADMIN]", "[NET_ADMIN]", "[cap_net_admin]", "[cap_sys_ptrace]", "[ALL]", "[\"${NOPE:-SYS_ADMIN}\"]"]),
        ("cap_drop", ["[ALL]"]),
        ("devices", ["[\"/dev/null:/dev/n\"]"]),
        ("device_cgroup_rules", ["[\"c 1:3 mr\"]"]),
        ("security_opt", ["[\"no-new-privileges:true\"]", "[\"apparmor:unconfined\"]", "[\"seccomp=unconfined\"]", "[\"label:disable\"]"]),
        ("sysctls", ["{net.core.somaxconn: 1024}", "{kernel.shmmax: 1}", "{kernel.core_pattern: x}", "[\"vm.swappiness=1\"]"]),
        ("volumes", ["[\"./data:/d\"]", "[\"/etc:/e\"]", "[\"/srv/apps/x:/a\"]", "[\"../x:/x\"]", "[\".:/p\"]", "[\"./docker-compose.yml:/c\"]", "[\"/anon\"]",
            "[\"named:/n\"]", "[\"${SAFE}:/s\"]", "[\"${ROOT}:/r\"]", "[\"${NOPE:-./data}:/d\"]", "[{type: bind, source: /etc, target: /e}]",
            "[{type: bind, source: ./data, target: /d}]", "[{type: volume, source: named, target: /n}]", "[\"./.instadeploy:/i\"]"]),
        ("volumes_from", ["[other]"]),
        ("env_file", ["/etc/hostname", "[\"../../../../../../../etc/hostname\"]"]),
    ];

    private static readonly string[] NamedVolumes =
    [
        "  named: {}\n",
        "  named:\n    driver_opts: {type: none, o: bind, device: /etc}\n",
        "  named:\n    driver_opts: {type: none, o: bind, device: /srv/apps/n}\n",
        "  named:\n    driver_opts: {type: tmpfs, device: tmpfs}\n",
        "  named:\n    driver_opts: {type: nfs, o: \"addr=127.0.0.1\", device: \":/x\"}\n",
    ];

    /// <summary>One attribute written in one of YAML's spellings: a plain, quoted or tagged key; inline, through an anchor
    /// and alias, or through a merge key.</summary>
    private sealed record Written(string Key, string Value, int KeyStyle, int Via);

    private static string KeyOf(string key, int style) => style switch
    {
        1 => $"\"{key}\"",
        2 => $"'{key}'",
        3 => $"!!str {key}",
        _ => key,
    };

    private static string Render(IReadOnlyList<Written> web, string volume)
    {
        var anchors = new StringBuilder();
        var service = new StringBuilder("  web:\n    image: local/busybox:1\n");
        var merges = new List<string>();
        for (var i = 0; i < web.Count; i++)
        {
            var (key, value, keyStyle, via) = web[i];
            var written = KeyOf(key, keyStyle);
            switch (via)
            {
                case 1: // an alias to an anchored value
                    anchors.Append(CultureInfo.InvariantCulture, $"x-v{i}: &v{i} {value}\n");
                    service.Append(CultureInfo.InvariantCulture, $"    {written}: *v{i}\n");
                    break;
                case 2: // a merge key
                    anchors.Append(CultureInfo.InvariantCulture, $"x-m{i}: &m{i}\n  {written}: {value}\n");
                    merges.Add($"*m{i}");
                    break;
                default:
                    service.Append(CultureInfo.InvariantCulture, $"    {written}: {value}\n");
                    break;
            }
        }
        if (merges.Count > 0) service.Append(CultureInfo.InvariantCulture, $"    <<: [{string.Join(", ", merges)}]\n");
        return $"{anchors}services:\n{service}  other:\n    image: local/busybox:1\nvolumes:\n{volume}";
    }

    private static Arbitrary<string> ComposeFiles()
    {
        var attribute =
            from index in Gen.Choose(0, Attributes.Length - 1)
            from value in Gen.Elements(Attributes[index].Values)
            from keyStyle in Gen.Choose(0, 3)
            from via in Gen.Choose(0, 2)
            select new Written(Attributes[index].Key, value, keyStyle, via);
        var file =
            from count in Gen.Choose(1, 3)
            from attributes in attribute.ListOf(count)
            from volume in Gen.Elements(NamedVolumes)
            select Render([.. attributes.DistinctBy(a => a.Key)], volume);
        return file.ToArbitrary();
    }

    [Fact]
    public void TheControlPlaneNeverAcceptsWhatTheAgentRefusesOnTheResolvedModel()
    {
        var project = Directory.CreateTempSubdirectory("instadeploy-differential-").FullName;
        var cases = int.TryParse(Environment.GetEnvironmentVariable("INSTADEPLOY_DIFFERENTIAL_CASES"), out var n) ? n : 40;
        var resolvedRefusals = 0;
        try
        {
            Directory.CreateDirectory(Path.Combine(project, "data"));
            var envFile = Path.Combine(project, ".env");
            File.WriteAllText(envFile, string.Concat(Variables.Select(v => InstaDeploy.Contracts.EnvironmentVariables.EnvFileLine(v.Key, v.Value) + "\n")));
            var controlPlaneVariables = ComposeVariables.ControlPlane(Variables);
            var composeFile = Path.Combine(project, "docker-compose.yml");
            Check.One(Config.QuickThrowOnFailure.WithMaxTest(cases).WithMaxRejected(cases * 10), Prop.ForAll(ComposeFiles(), yaml =>
            {
                File.WriteAllText(composeFile, yaml);
                var (exitCode, output) = ComposeConfig(project, composeFile, envFile);
                if (exitCode != 0) return true; // compose refuses the file itself: nothing would run
                var resolved = ComposePolicy.CheckResolved(output, Settings, project);
                if (resolved.Count == 0) return true;
                resolvedRefusals++;
                var early = ComposePolicy.Check(yaml, Settings, controlPlaneVariables);
                return early.Count > 0
                    ? true
                    : throw new Xunit.Sdk.XunitException($"the control plane accepts a file the agent refuses ({string.Join("; ", resolved)}):\n{yaml}");
            }));
            Assert.True(resolvedRefusals > 0, "no generated file was refused on the resolved model: the test exercised nothing");
        }
        finally
        {
            Directory.Delete(project, recursive: true);
        }
    }

    private static readonly ComposeCli Cli = new(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());

    /// <summary>Runs the installed compose's <c>config</c> as the agent does: v2 when present, else v1.</summary>
    private static (int ExitCode, string Output) ComposeConfig(string project, string composeFile, string envFile)
    {
        var cli = Cli;
        var variant = cli.GetVariantAsync(CancellationToken.None).GetAwaiter().GetResult();
        var (fileName, arguments) = cli.CommandAsync("differential", composeFile, CancellationToken.None).GetAwaiter().GetResult();
        arguments.AddRange(["--project-directory", project, "--env-file", envFile, "config"]);
        if (variant.LeadingArguments.Count > 0) arguments.AddRange(["--format", "json"]);
        var result = ProcessRunner.RunAsync(fileName, arguments, null, CancellationToken.None, workingDirectory: project).GetAwaiter().GetResult();
        return (result.ExitCode, string.Join('\n', result.StandardOutput));
    }
}
