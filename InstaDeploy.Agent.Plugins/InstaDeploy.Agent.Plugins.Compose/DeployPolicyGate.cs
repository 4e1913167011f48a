using System.Text;
using System.Text.Json;
using InstaDeploy.Compose;
using Microsoft.Extensions.Configuration;

namespace InstaDeploy.Agent.Plugins.Compose;

/// <summary>
/// The agent's check of the deploy policy, before every <c>up</c> (a deploy, a rollback the control plane sends, the
/// automatic rollback to a revision kept in the project's history): the compose file as written, then the model compose
/// itself resolves from it (<c>config</c>, with the project's <c>.env</c> and name), which is what would run. A file
/// compose cannot resolve is refused with compose's message. The check applies when AGENT_POLICY is on (with this
/// agent's allow-lists), or when the command carries the control plane's policy (its key had no host access, or
/// INSTADEPLOY_POLICY is on).
/// </summary>
public sealed class DeployPolicyGate(ComposeCli compose, ProjectFolders folders, IConfiguration configuration)
{
    /// <summary>Where the policy that applies to this command comes from, for messages.</summary>
    public string Source => AgentPolicyOn ? "AGENT_POLICY" : "sent with the command by the control plane";

    private bool AgentPolicyOn => configuration["AGENT_POLICY"]?.Trim().ToLowerInvariant() is "on" or "true" or "1" or "yes";

    /// <summary>The allow-lists of the policy that applies to this command, or null when none does.</summary>
    /// <exception cref="CommandPayloadException">The command's policy field is malformed.</exception>
    public PolicySettings? SettingsFor(CommandContext context)
    {
        if (AgentPolicyOn)
            return PolicySettings.FromLists(configuration["AGENT_POLICY_BIND_ALLOW"], configuration["AGENT_POLICY_CAP_ADD_ALLOW"], "AGENT_POLICY_BIND_ALLOW", "AGENT_POLICY_CAP_ADD_ALLOW");
        if (context.Payload.ValueKind != JsonValueKind.Object || !context.Payload.TryGetProperty(Contracts.DeployPayload.Policy, out var policy)
            || policy.ValueKind == JsonValueKind.Null)
            return null;
        if (policy.ValueKind != JsonValueKind.Object)
            throw new CommandPayloadException($"payload \"{Contracts.DeployPayload.Policy}\" must be an object");
        var bindAllow = Strings(policy, Contracts.DeployPayload.PolicyBindAllow);
        var capAddAllow = Strings(policy, Contracts.DeployPayload.PolicyCapAddAllow);
        const string bindSetting = "INSTADEPLOY_POLICY_BIND_ALLOW on the control plane", capSetting = "INSTADEPLOY_POLICY_CAP_ADD_ALLOW on the control plane";
        if ((PolicySettings.BindAllowProblem(bindAllow, bindSetting) ?? PolicySettings.CapAddAllowProblem(capAddAllow, capSetting)) is { } problem)
            throw new CommandPayloadException($"payload \"{Contracts.DeployPayload.Policy}\": {problem}");
        return PolicySettings.FromLists(bindAllow, capAddAllow, bindSetting, capSetting);
    }

    private static string Strings(JsonElement policy, string name)
    {
        if (!policy.TryGetProperty(name, out var list) || list.ValueKind == JsonValueKind.Null) return "";
        if (list.ValueKind != JsonValueKind.Array || list.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String || e.GetString()!.Contains(',')))
            throw new CommandPayloadException($"payload \"{Contracts.DeployPayload.Policy}.{name}\" must be an array of strings");
        return string.Join(',', list.EnumerateArray().Select(e => e.GetString()));
    }

    /// <summary>
    /// What the policy refuses in the project as compose would run it with <paramref name="composeFile"/> as its compose
    /// file and <paramref name="dotEnv"/> as its <c>.env</c>; empty when nothing. Nothing of the project is changed: compose
    /// resolves copies written beside the compose file (so relative paths mean the same), removed afterwards.
    /// </summary>
    public async Task<IReadOnlyList<string>> CheckAsync(string projectName, byte[] composeFile, byte[] dotEnv, PolicySettings settings, CommandContext context)
    {
        var yaml = Encoding.UTF8.GetString(composeFile);
        if (ComposeValidator.Validate(yaml) is { } invalid) return [invalid];
        var folder = folders.FolderOf(projectName);
        var variables = ProjectVariables.ParseEnvFile(Encoding.UTF8.GetString(dotEnv))
            .GroupBy(v => v.Name).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
        var asWritten = ComposePolicy.Check(yaml, settings, ComposeVariables.Exact(ProcessRunner.ChildEnvironment(), variables), folder);
        if (asWritten.Count > 0) return asWritten;

        Directory.CreateDirectory(folder);
        var candidate = Path.Combine(folder, $".{ProjectFolders.ComposeFileName}.{Guid.NewGuid():N}.check");
        var candidateEnv = Path.Combine(folders.StateFolderOf(projectName), $"env.{Guid.NewGuid():N}.check");
        // A service's `env_file: .env` must exist for compose to resolve the project; on a first deploy it does not yet
        // (it is written only once the check has passed), so an empty stand-in is there for the check and removed after.
        var dotEnvPath = Path.Combine(folder, ProjectFolders.EnvFileName);
        var standIn = !File.Exists(dotEnvPath);
        try
        {
            await ProjectFolders.WriteAtomicallyAsync(candidate, composeFile, ownerOnly: true, context.CancellationToken, durable: false);
            await ProjectFolders.WriteAtomicallyAsync(candidateEnv, dotEnv, ownerOnly: true, context.CancellationToken, durable: false);
            if (standIn) await ProjectFolders.WriteAtomicallyAsync(dotEnvPath, [], ownerOnly: true, context.CancellationToken, durable: false);
            var variant = await compose.GetVariantAsync(context.CancellationToken);
            var (fileName, arguments) = await compose.CommandAsync(projectName, candidate, context.CancellationToken);
            arguments.AddRange(["--project-directory", folder, "--env-file", candidateEnv, "config"]);
            // v2 can print the model as JSON; v1 prints YAML only.
            if (variant.LeadingArguments.Count > 0) arguments.AddRange(["--format", "json"]);
            var result = await ProcessRunner.RunAsync(fileName, arguments, null, context.CancellationToken, workingDirectory: folder);
            if (result.ExitCode != 0)
                return [$"compose cannot resolve the project ({variant.Name} config exited with code {result.ExitCode}): {string.Join(' ', result.StandardErrorTail).Replace(Path.GetFileName(candidate), ProjectFolders.ComposeFileName, StringComparison.Ordinal)}"];
            return ComposePolicy.CheckResolved(string.Join('\n', result.StandardOutput), settings, folder);
        }
        finally
        {
            File.Delete(candidate);
            File.Delete(candidateEnv);
            if (standIn) File.Delete(dotEnvPath);
        }
    }
}
