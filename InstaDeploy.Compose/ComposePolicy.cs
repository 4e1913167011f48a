namespace InstaDeploy.Compose;

/// <summary>
/// The deploy policy: compose files may not give a container access to its host. Refused: privileged (also in
/// lifecycle hooks and builds), cap_add outside an allow-list, devices, device_cgroup_rules, GPUs, security_opt that
/// lifts confinement, host (or foreign container/service) network, PID, IPC, UTS, user and cgroup namespaces,
/// volumes_from, non-namespaced sysctls, bind mounts outside the project folder and the allow-list in every syntax
/// (named volumes whose driver_opts bind, NFS, CIFS or a device included), secrets, configs, env_file, extends, include
/// and build contexts that leave the project folder or name a remote source, and any mount of the project's compose
/// file or <c>.instadeploy/</c> folder.
/// </summary>
/// <remarks>
/// The control plane checks the file as written (<see cref="Check"/>), every document, with compose's interpolation;
/// the agent checks it again on the model compose itself resolves (<see cref="CheckResolved"/>) before every
/// <c>up</c>, which decides.
/// </remarks>
public static class ComposePolicy
{
    /// <summary>What the policy refuses in the compose file <paramref name="yaml"/> as written (empty when nothing).</summary>
    /// <param name="yaml">The compose file.</param>
    /// <param name="settings">The allow-lists.</param>
    /// <param name="variables">What <c>${NAME}</c> becomes; a value that cannot be known is refused where the policy reads it.</param>
    /// <param name="projectFolder">The project folder, on the agent (symbolic links are then resolved); null on the control plane.</param>
    public static IReadOnlyList<string> Check(string yaml, PolicySettings settings, ComposeVariables variables, string? projectFolder = null)
    {
        IReadOnlyList<ComposeNode> documents;
        try
        {
            documents = ComposeYaml.Parse(yaml);
        }
        catch (ComposeYamlException e)
        {
            return [e.Message];
        }
        return new PolicyRules(settings, new HostPaths(settings, projectFolder), variables.Interpolate).Check(documents);
    }

    /// <summary>
    /// What the policy refuses in compose's resolved model: the output of <c>docker-compose config</c> (v1, YAML) or
    /// <c>docker compose config --format json</c> (v2), in which variables are filled in, merge keys, <c>extends</c> and
    /// <c>include</c> applied, and relative paths made absolute.
    /// </summary>
    /// <param name="output">What compose printed.</param>
    /// <param name="settings">The allow-lists.</param>
    /// <param name="projectFolder">The project folder (symbolic links under it are resolved).</param>
    public static IReadOnlyList<string> CheckResolved(string output, PolicySettings settings, string projectFolder)
    {
        ComposeNode model;
        var json = output.TrimStart().StartsWith('{');
        try
        {
            model = json ? ComposeYaml.ParseJson(output) : ComposeYaml.Parse(output) switch
            {
                [var single] => single,
                var documents => throw new ComposeYamlException($"compose printed {documents.Count} documents, not one"),
            };
        }
        catch (ComposeYamlException e)
        {
            return [$"compose's resolved model cannot be read: {e.Message}"];
        }
        if (model is not ComposeMap { } root || root["services"] is not ComposeMap)
            return ["compose's resolved model has no services"];
        // v2 prints a '$' of the model as '$$' so its output can be read again; v1 prints paths as they are.
        Func<string, Interpolated> value = json ? text => new Interpolated(text.Replace("$$", "$", StringComparison.Ordinal), null) : text => new Interpolated(text, null);
        return new PolicyRules(settings, new HostPaths(settings, projectFolder), value).Check([model]);
    }
}
