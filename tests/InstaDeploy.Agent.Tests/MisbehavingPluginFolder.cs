using System.Text.Json;

namespace InstaDeploy.Agent.Tests;

/// <summary>A plugins folder of its own holding the Misbehaving test plugin (THROW, HANG, SLOW, CHATTY), for an agent
/// started with AGENT_PLUGINS_DIR set to it; deleted on dispose.</summary>
internal sealed class MisbehavingPluginFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("instadeploy-misbehaving-").FullName;

    public MisbehavingPluginFolder()
    {
        var source = System.IO.Path.Combine(AppContext.BaseDirectory, "test-plugins", "Misbehaving");
        var target = Directory.CreateDirectory(System.IO.Path.Combine(Path, "Misbehaving")).FullName;
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, System.IO.Path.Combine(target, System.IO.Path.GetFileName(file)));
    }

    /// <summary>Waits until the agent reports <paramref name="commandType"/> (command_types is null until it has said
    /// what its plugins handle).</summary>
    public static Task WaitForCommandTypeAsync(HttpClient api, string agentId, string commandType) =>
        Eventually.TrueAsync(async () => (await api.GetJsonAsync($"/agents/{agentId}")).GetProperty("command_types") is { ValueKind: JsonValueKind.Array } types
            && types.EnumerateArray().Any(t => t.GetString() == commandType), TimeSpan.FromSeconds(20), $"{commandType} to be reported");

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
