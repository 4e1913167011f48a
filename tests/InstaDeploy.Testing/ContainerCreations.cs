using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace InstaDeploy.Testing;

/// <summary>
/// Every container the engine creates with a revision label while this recorder runs (<c>docker events</c>, live: the
/// engine keeps only its last few hundred events, and the machine is shared). A deploy's <c>compose up</c> creates each
/// service's container once, labelled with the deploy's own revision number, so a revision whose container for one
/// service was created twice is a deploy that ran twice.
/// </summary>
public sealed class ContainerCreations : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<Creation> _created = new();

    /// <summary>One container created: its compose project, service and revision label.</summary>
    public sealed record Creation(string Project, string Service, string Revision, string Container);

    private ContainerCreations()
    {
        var start = new ProcessStartInfo("docker", ["events", "--filter", "type=container", "--filter", "event=create",
            "--filter", "label=io.instadeploy.revision", "--format", "{{json .Actor.Attributes}}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Record(e.Data);
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts recording; returns once the subscription is in place (a container created after it is seen).</summary>
    public static async Task<ContainerCreations> StartAsync()
    {
        var recorder = new ContainerCreations();
        // docker events prints nothing when it subscribes; give it a moment, then check it did not fail.
        await Task.Delay(TimeSpan.FromSeconds(1));
        if (recorder._process.HasExited) throw new InvalidOperationException("docker events exited at once");
        return recorder;
    }

    public IReadOnlyCollection<Creation> Created => _created;

    private void Record(string? line)
    {
        if (string.IsNullOrWhiteSpace(line)) return;
        try
        {
            var attributes = JsonSerializer.Deserialize<Dictionary<string, string>>(line);
            if (attributes is null) return;
            attributes.TryGetValue("com.docker.compose.project", out var project);
            attributes.TryGetValue("com.docker.compose.service", out var service);
            attributes.TryGetValue("io.instadeploy.revision", out var revision);
            attributes.TryGetValue("name", out var name);
            if (project is not null && revision is not null) _created.Enqueue(new Creation(project, service ?? "", revision, name ?? ""));
        }
        catch (JsonException)
        {
        }
    }

    /// <summary>(project, service, revision) created more than once, with how often.</summary>
    public IReadOnlyList<(Creation First, int Times)> CreatedMoreThanOnce(Func<string, bool> ofProject) =>
        [.. _created.Where(c => ofProject(c.Project))
            .GroupBy(c => (c.Project, c.Service, c.Revision))
            .Where(g => g.Count() > 1)
            .Select(g => (g.First(), g.Count()))];

    public async ValueTask DisposeAsync()
    {
        try { _process.Kill(); } catch (InvalidOperationException) { }
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
