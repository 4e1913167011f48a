namespace InstaDeploy.Compose;

/// <summary>
/// The deploy policy's rules, applied to compose's model (a file as written, document by document, or compose's own
/// resolved output). Each violation names the service (or volume, network, secret, config) and the key.
/// </summary>
internal sealed class PolicyRules(PolicySettings settings, HostPaths paths, Func<string, Interpolated> evaluate)
{
    private readonly List<string> _violations = [];
    private readonly HashSet<string> _services = new(StringComparer.Ordinal);
    private readonly HashSet<string> _containerNames = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Check(IReadOnlyList<ComposeNode> documents)
    {
        var roots = documents.OfType<ComposeMap>().ToList();
        // A reference to another service (network_mode: service:db) may point into any document: compose v2 merges them.
        foreach (var root in roots)
            if (root["services"] is ComposeMap services)
                foreach (var (name, service) in services.Entries)
                {
                    _services.Add(name);
                    if (service is ComposeMap map && Value(map["container_name"]).Text is { } containerName) _containerNames.Add(containerName);
                }

        foreach (var root in roots)
        {
            if (root["services"] is ComposeMap services)
                foreach (var (name, service) in services.Entries)
                    if (service is ComposeMap map) Service($"service '{name}'", map);
            ForEachDefinition(root["volumes"], (name, volume) => NamedVolume($"volume '{name}'", volume));
            ForEachDefinition(root["networks"], (name, network) => Network($"network '{name}'", name, network));
            ForEachDefinition(root["secrets"], (name, secret) => ReadsFile($"secret '{name}'", "file", secret["file"], mounted: true));
            ForEachDefinition(root["configs"], (name, config) => ReadsFile($"config '{name}'", "file", config["file"], mounted: true));
            Include(root["include"]);
        }
        return _violations.Distinct().ToList();
    }

    private static void ForEachDefinition(ComposeNode? section, Action<string, ComposeMap> check)
    {
        if (section is not ComposeMap definitions) return;
        foreach (var (name, definition) in definitions.Entries)
            if (definition is ComposeMap map) check(name, map);
    }

    private void Service(string subject, ComposeMap service)
    {
        Privileged(subject, "privileged", service["privileged"]);
        foreach (var hook in new[] { "post_start", "pre_stop" })
            foreach (var item in Items(service[hook]).OfType<ComposeMap>())
                Privileged(subject, $"{hook} privileged", item["privileged"]);
        CapAdd(subject, service["cap_add"]);
        Forbidden(subject, "devices", service["devices"], "gives the container the host's devices");
        Forbidden(subject, "device_cgroup_rules", service["device_cgroup_rules"], "gives the container access to the host's devices");
        Forbidden(subject, "gpus", service["gpus"], "gives the container the host's GPUs");
        if (service["deploy"] is ComposeMap deploy && deploy["resources"] is ComposeMap resources && resources["reservations"] is ComposeMap reservations)
            Forbidden(subject, "deploy.resources.reservations.devices", reservations["devices"], "gives the container the host's devices");
        Forbidden(subject, "volumes_from", service["volumes_from"], "mounts the volumes of another container");
        Forbidden(subject, "provider", service["provider"], "has compose run a program on the host");
        SecurityOptions(subject, service["security_opt"]);
        foreach (var key in new[] { "network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup" })
            Namespace(subject, key, service[key]);
        Sysctls(subject, service["sysctls"]);
        Volumes(subject, service["volumes"]);
        foreach (var item in Items(service["env_file"]))
            ReadsFile(subject, "env_file", item is ComposeMap entry ? entry["path"] : item);
        if (service["extends"] is ComposeMap extends && extends["file"] is { } file)
            ReadsFile(subject, "extends.file", file, remoteRefused: true);
        Build(subject, service["build"]);
    }

    private void Privileged(string subject, string key, ComposeNode? node)
    {
        var value = Value(node);
        if (Unreadable(subject, key, node, value)) return;
        if (value.Text is null) return;
        // Compose reads y, yes, true, on (any case) as true; whatever is not plainly false is refused.
        if (value.Text.Trim().ToLowerInvariant() is "false" or "no" or "n" or "off" or "0") return;
        _violations.Add($"{subject} sets {key}: {value.Text}");
    }

    private void CapAdd(string subject, ComposeNode? node)
    {
        foreach (var item in Items(node))
        {
            var value = Value(item);
            if (Unreadable(subject, "cap_add", item, value) || value.Text is null) continue;
            if (settings.CapAddAllow.Contains(PolicySettings.NormalizeCapability(value.Text))) continue;
            _violations.Add(settings.CapAddAllow.Count == 0
                ? $"{subject} sets cap_add: {value.Text}, and no capability may be added ({settings.CapAddAllowSetting})"
                : $"{subject} sets cap_add: {value.Text}, which is not an allowed capability ({string.Join(", ", settings.CapAddAllow)}: {settings.CapAddAllowSetting})");
        }
    }

    private void Forbidden(string subject, string key, ComposeNode? node, string why)
    {
        var shown = node switch
        {
            null or ComposeScalar { Text: null } => null,
            ComposeScalar scalar => scalar.Text,
            ComposeSequence { Items.Count: 0 } or ComposeMap { Entries.Count: 0 } => null,
            ComposeSequence sequence => string.Join(", ", sequence.Items.Take(3).Select(i => (i as ComposeScalar)?.Text ?? "…")),
            _ => "…",
        };
        if (shown is not null) _violations.Add($"{subject} sets {key} ({shown}), which {why}");
    }

    private void SecurityOptions(string subject, ComposeNode? node)
    {
        foreach (var item in Items(node))
        {
            var value = Value(item);
            if (Unreadable(subject, "security_opt", item, value) || value.Text is null) continue;
            if (!ConfinementKept(value.Text.Trim()))
                _violations.Add($"{subject} sets security_opt: {value.Text}, which lifts or replaces the container's confinement");
        }
    }

    /// <summary>no-new-privileges, a named AppArmor profile, and SELinux level/user/role keep the container confined;
    /// unconfined, label disable or type, a seccomp profile (a host file) and systempaths do not.</summary>
    private static bool ConfinementKept(string option)
    {
        var separator = option.IndexOfAny([':', '=']);
        var name = (separator < 0 ? option : option[..separator]).ToLowerInvariant();
        var argument = separator < 0 ? "" : option[(separator + 1)..].Trim().ToLowerInvariant();
        return name switch
        {
            "no-new-privileges" => true,
            "apparmor" => argument.Length > 0 && argument != "unconfined",
            "label" => argument.StartsWith("level:", StringComparison.Ordinal) || argument.StartsWith("user:", StringComparison.Ordinal) || argument.StartsWith("role:", StringComparison.Ordinal),
            _ => false,
        };
    }

    private void Namespace(string subject, string key, ComposeNode? node)
    {
        var value = Value(node);
        if (Unreadable(subject, key, node, value) || value.Text is null) return;
        var mode = value.Text.Trim();
        if (mode.Equals("host", StringComparison.OrdinalIgnoreCase))
            _violations.Add($"{subject} sets {key}: host");
        else if (mode.StartsWith("container:", StringComparison.OrdinalIgnoreCase) && !_containerNames.Contains(mode[10..]))
            _violations.Add($"{subject} sets {key}: {mode}, a container outside this project (use service:<name> for one of its services)");
        else if (mode.StartsWith("service:", StringComparison.OrdinalIgnoreCase) && !_services.Contains(mode[8..]))
            _violations.Add($"{subject} sets {key}: {mode}, a service this project does not define");
    }

    private static readonly string[] NamespacedKernelSysctls =
        ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"];

    private void Sysctls(string subject, ComposeNode? node)
    {
        var names = new List<string>();
        if (node is ComposeMap map) names.AddRange(map.Entries.Select(e => e.Key));
        foreach (var item in node is ComposeSequence ? Items(node) : [])
        {
            var value = Value(item);
            if (Unreadable(subject, "sysctls", item, value) || value.Text is null) continue;
            names.Add(value.Text.Split('=')[0]);
        }
        foreach (var name in names)
        {
            var sysctl = name.Trim().Replace('/', '.');
            if (sysctl.StartsWith("net.", StringComparison.Ordinal) || sysctl.StartsWith("fs.mqueue.", StringComparison.Ordinal) || NamespacedKernelSysctls.Contains(sysctl)) continue;
            _violations.Add($"{subject} sets sysctls: {name}, which is not a namespaced sysctl (allowed: net.*, fs.mqueue.*, {string.Join(", ", NamespacedKernelSysctls)})");
        }
    }

    private void Volumes(string subject, ComposeNode? node)
    {
        foreach (var item in Items(node))
        {
            if (item is ComposeScalar)
            {
                var value = Value(item);
                if (value.Unknown is not null)
                {
                    _violations.Add($"{subject} mounts a volume given by a variable ('{Raw(item)}'): {value.Unknown}; the deploy policy cannot check what it becomes, so write its source and type themselves");
                    continue;
                }
                if (value.Text is null) continue;
                var parts = value.Text.Split(':');
                if (parts.Length == 1) continue; // an anonymous volume: a path in the container only
                if (IsPath(parts[0]) && paths.Problem(parts[0]) is { } problem) _violations.Add($"{subject} bind-mounts {problem}");
            }
            else if (item is ComposeMap mount)
            {
                var type = Value(mount["type"]);
                var source = Value(mount["source"]);
                if (type.Unknown is not null || source.Unknown is not null)
                {
                    _violations.Add($"{subject} mounts a volume given by a variable ('{Raw(type.Unknown is not null ? mount["type"] : mount["source"])}'): {type.Unknown ?? source.Unknown}; the deploy policy cannot check what it becomes, so write its source and type themselves");
                    continue;
                }
                var kind = type.Text?.Trim().ToLowerInvariant();
                if (kind == "npipe") _violations.Add($"{subject} mounts a named pipe of the host (volumes type: npipe)");
                else if (kind == "bind" && source.Text is null) _violations.Add($"{subject} bind-mounts with no source");
                else if (kind != "tmpfs" && source.Text is { } path && (kind == "bind" || IsPath(path)) && paths.Problem(path) is { } problem)
                    _violations.Add($"{subject} bind-mounts {problem}");
            }
        }
    }

    /// <summary>Whether a volume source is a host path rather than a volume's name (which has no '/').</summary>
    private static bool IsPath(string source) =>
        source.Length == 0 || source.StartsWith('/') || source.StartsWith('.') || source.StartsWith('~') || source.Contains('/') || source.Contains('\\');

    private void ReadsFile(string subject, string key, ComposeNode? node, bool remoteRefused = false, bool mounted = false)
    {
        var value = Value(node);
        if (Unreadable(subject, key, node, value) || value.Text is null) return;
        if (remoteRefused && HostPaths.IsRemote(value.Text))
            _violations.Add($"{subject} sets {key} to a remote source ('{value.Text}')");
        else if (paths.Problem(value.Text, mounted) is { } problem)
            _violations.Add($"{subject} sets {key} to {problem}");
    }

    private void Include(ComposeNode? node)
    {
        foreach (var item in node is ComposeScalar ? [node] : Items(node))
        {
            if (item is not ComposeMap entry)
            {
                ReadsFile("include", "path", item, remoteRefused: true);
                continue;
            }
            foreach (var path in Items(entry["path"])) ReadsFile("include", "path", path, remoteRefused: true);
            foreach (var envFile in Items(entry["env_file"])) ReadsFile("include", "env_file", envFile);
            ReadsFile("include", "project_directory", entry["project_directory"], remoteRefused: true);
        }
    }

    private void Build(string subject, ComposeNode? node)
    {
        if (node is null || node is ComposeScalar { Text: null }) return;
        if (node is ComposeScalar)
        {
            ReadsFile(subject, "build", node, remoteRefused: true);
            return;
        }
        if (node is not ComposeMap build) return;
        var context = Value(build["context"]);
        if (build["context"] is not null) ReadsFile(subject, "build.context", build["context"], remoteRefused: true);
        var contextPath = context.Text ?? ".";
        var dockerfile = Value(build["dockerfile"]);
        if (!Unreadable(subject, "build.dockerfile", build["dockerfile"], dockerfile) && dockerfile.Text is { } file
            && context.Unknown is null && !HostPaths.IsRemote(contextPath)
            && paths.Problem(file.StartsWith('/') ? file : contextPath.TrimEnd('/') + "/" + file, mounted: false) is { } problem)
            _violations.Add($"{subject} sets build.dockerfile to {problem}");
        var additional = build["additional_contexts"];
        var named = additional is ComposeMap map ? map.Entries.Select(e => e.Value) : Items(additional);
        foreach (var item in named)
        {
            var value = Value(item);
            if (Unreadable(subject, "build.additional_contexts", item, value) || value.Text is null) continue;
            var source = additional is ComposeMap ? value.Text : value.Text[(value.Text.IndexOf('=') + 1)..];
            if (source.StartsWith("docker-image://", StringComparison.Ordinal) || source.StartsWith("service:", StringComparison.Ordinal) || source.StartsWith("target:", StringComparison.Ordinal)) continue;
            if (HostPaths.IsRemote(source)) _violations.Add($"{subject} sets build.additional_contexts to a remote source ('{source}')");
            else if (paths.Problem(source, mounted: false) is { } outside) _violations.Add($"{subject} sets build.additional_contexts to {outside}");
        }
        Forbidden(subject, "build.ssh", build["ssh"], "hands the build the agent's SSH keys or agent");
        Forbidden(subject, "build.entitlements", build["entitlements"], "grants the build access to the host");
        Namespace(subject, "build.network", build["network"]);
        Privileged(subject, "build.privileged", build["privileged"]);
        foreach (var key in new[] { "cache_from", "cache_to" })
            foreach (var item in Items(build[key]))
                if (Value(item).Text is { } cache && cache.Replace(" ", "", StringComparison.Ordinal).Contains("type=local", StringComparison.OrdinalIgnoreCase))
                    _violations.Add($"{subject} sets build.{key}: {cache}, a cache folder on the host");
    }

    private void NamedVolume(string subject, ComposeMap volume)
    {
        if (volume["driver_opts"] is not ComposeMap options) return;
        var o = Value(options["o"]);
        var type = Value(options["type"]);
        var device = Value(options["device"]);
        foreach (var (key, value) in new[] { ("o", o), ("type", type), ("device", device) })
            if (value.Unknown is not null)
            {
                _violations.Add($"{subject} sets driver_opts.{key} from a variable ('{Raw(options[key])}'): {value.Unknown}; the deploy policy cannot check what it becomes, so write the value itself");
                return;
            }
        var mountOptions = (o.Text ?? "").Split(',', StringSplitOptions.TrimEntries).Select(x => x.ToLowerInvariant()).ToList();
        var fileSystem = type.Text?.Trim().ToLowerInvariant();
        if (mountOptions.Contains("bind") || mountOptions.Contains("rbind"))
        {
            if (device.Text is null) _violations.Add($"{subject} sets driver_opts o: {o.Text} with no device to bind");
            else if (paths.Problem(device.Text) is { } problem) _violations.Add($"{subject} binds the host path {problem} (driver_opts)");
        }
        else if (fileSystem is "nfs" or "nfs4" or "cifs" or "smb" or "smb3" || mountOptions.Any(x => x.StartsWith("addr=", StringComparison.Ordinal)))
            _violations.Add($"{subject} mounts a network file system (driver_opts type: {type.Text ?? "?"}, o: {o.Text})");
        else if (fileSystem != "tmpfs" && device.Text is not null)
            _violations.Add($"{subject} mounts the host device '{device.Text}' (driver_opts)");
    }

    private void Network(string subject, string key, ComposeMap network)
    {
        var name = Value(network["name"]);
        if (Unreadable(subject, "name", network["name"], name)) return;
        var external = network["external"];
        var externalName = external is ComposeMap legacy ? Value(legacy["name"]).Text : null;
        var isExternal = external is ComposeMap || (Value(external).Text?.Trim().ToLowerInvariant() is { } flag && flag is not ("false" or "no" or "n" or "off"));
        var effective = name.Text ?? externalName ?? (isExternal ? key : null);
        if (effective?.Trim() == "host") _violations.Add($"{subject} is the host's network (name: host)");
        if (Value(network["driver"]).Text?.Trim() == "host") _violations.Add($"{subject} sets driver: host, the host's network");
    }

    /// <summary>The items of a sequence; a lone scalar counts as one item (compose refuses it, and reading it only sees more).</summary>
    private static IEnumerable<ComposeNode> Items(ComposeNode? node) => node switch
    {
        ComposeSequence sequence => sequence.Items,
        ComposeScalar { Text: not null } scalar => [scalar],
        _ => [],
    };

    private Interpolated Value(ComposeNode? node) => node is ComposeScalar { Text: { } text } ? evaluate(text) : new Interpolated(null, null);

    private static string Raw(ComposeNode? node) => (node as ComposeScalar)?.Text ?? "";

    /// <summary>Adds a violation when a value the policy reads is not a plain value or cannot be known; true when it did.</summary>
    private bool Unreadable(string subject, string key, ComposeNode? node, Interpolated value)
    {
        if (node is ComposeMap or ComposeSequence)
        {
            _violations.Add($"{subject} sets {key} to a mapping or a list, which the deploy policy cannot read as a value");
            return true;
        }
        if (value.Unknown is null) return false;
        _violations.Add($"{subject} sets {key} from a variable ('{Raw(node)}'): {value.Unknown}; the deploy policy cannot check what it becomes, so write the value itself");
        return true;
    }
}
