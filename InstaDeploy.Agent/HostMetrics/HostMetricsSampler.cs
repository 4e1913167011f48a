using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using InstaDeploy.Agent.Plugins;
using InstaDeploy.Contracts;

namespace InstaDeploy.Agent.HostMetrics;

/// <summary>
/// Every AGENT_METRICS_SECONDS (default 10): the host's CPU (from /proc/stat), memory (/proc/meminfo) and the projects
/// folder's disk, and each container's CPU and memory (<c>docker stats --no-stream</c>). Published as OpenTelemetry
/// gauges, and sent to a control plane that announced the agent-metrics extension (a seed server is sent nothing).
/// </summary>
internal sealed class HostMetricsSampler : BackgroundService
{
    private readonly AgentOptions _options;
    private readonly Connection.AgentConnectionService _connection;
    private readonly TimeProvider _time;
    private (long Busy, long Total)? _lastCpu;
    private volatile AgentMetricsMessage? _latest;

    public HostMetricsSampler(AgentOptions options, Connection.AgentConnectionService connection, IMeterFactory meters, TimeProvider time)
    {
        _options = options;
        _connection = connection;
        _time = time;
        var meter = meters.Create(AgentTelemetry.Name);
        meter.CreateObservableGauge("instadeploy.agent.host.cpu.utilization", () => _latest?.CpuPercent / 100 ?? 0, "1", "The host's CPU busy share over the last sample");
        meter.CreateObservableGauge("instadeploy.agent.host.memory.used", () => _latest?.MemoryUsedBytes ?? 0, "By", "The host's memory in use (total less available)");
        meter.CreateObservableGauge("instadeploy.agent.host.disk.free", () => _latest?.DiskFreeBytes ?? 0, "By", "Free space on the projects folder's disk");
        meter.CreateObservableGauge("instadeploy.agent.container.cpu.utilization", () => Containers(c => c.CpuPercent / 100 ?? 0), "1", "Each container's CPU share, by container name");
        meter.CreateObservableGauge("instadeploy.agent.container.memory.used", () => Containers(c => (double)c.MemoryBytes), "By", "Each container's memory, by container name");
    }

    /// <summary>The last sample, or null before the first.</summary>
    public AgentMetricsMessage? Latest => _latest;

    private IEnumerable<Measurement<double>> Containers(Func<ContainerMetrics, double> value) =>
        (_latest?.Containers ?? []).Select(c => new Measurement<double>(value(c), new KeyValuePair<string, object?>("container.name", c.Name)));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.MetricsInterval <= TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(_options.MetricsInterval, _time);
        do
        {
            var sample = await SampleAsync(stoppingToken);
            _latest = sample;
            await _connection.SendMetricsAsync(sample);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<AgentMetricsMessage> SampleAsync(CancellationToken cancellationToken)
    {
        var (total, used) = Memory();
        long diskTotal = 0, diskFree = 0;
        try
        {
            var drive = new DriveInfo(_options.ProjectsDirectory);
            (diskTotal, diskFree) = (drive.TotalSize, drive.AvailableFreeSpace);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // reported as 0: the folder's disk cannot be read
        }
        var (containers, error) = await ContainersAsync(cancellationToken);
        return new AgentMetricsMessage
        {
            At = _time.GetUtcNow(), CpuPercent = Cpu(), CpuCount = Environment.ProcessorCount, MemoryTotalBytes = total, MemoryUsedBytes = used,
            DiskTotalBytes = diskTotal, DiskFreeBytes = diskFree, Containers = containers, ContainersError = error,
        };
    }

    /// <summary>The busy share of all CPUs since the last sample (the first sample: since boot).</summary>
    private double Cpu()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
            var idle = fields[3] + (fields.Length > 4 ? fields[4] : 0); // idle + iowait
            var all = fields.Take(8).Sum();
            var (busy, total) = (all - idle, all);
            var last = _lastCpu ?? (0, 0);
            _lastCpu = (busy, total);
            return total == last.Total ? 0 : Math.Round(100.0 * (busy - last.Busy) / (total - last.Total), 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or InvalidOperationException)
        {
            return 0;
        }
    }

    private static (long Total, long Used) Memory()
    {
        try
        {
            var values = File.ReadLines("/proc/meminfo").Select(l => l.Split(':')).Where(p => p.Length == 2)
                .ToDictionary(p => p[0], p => long.Parse(p[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024);
            var total = values.GetValueOrDefault("MemTotal");
            return (total, total - values.GetValueOrDefault("MemAvailable", total));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return (0, 0);
        }
    }

    private static async Task<(IReadOnlyList<ContainerMetrics>? Containers, string? Error)> ContainersAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        try
        {
            var result = await ProcessRunner.RunAsync("docker", ["stats", "--no-stream", "--no-trunc", "--format", "{{json .}}"], null, timeout.Token);
            if (result.ExitCode != 0) return (null, $"docker stats exited with code {result.ExitCode}: {string.Join(' ', result.StandardErrorTail.TakeLast(2))}");
            var containers = new List<ContainerMetrics>();
            foreach (var line in result.StandardOutput.Take(AgentMetricsMessage.MaxContainers))
            {
                using var row = JsonDocument.Parse(line);
                var root = row.RootElement;
                var name = root.GetProperty("Name").GetString() ?? "";
                var (memory, limit) = MemoryUsage(root.GetProperty("MemUsage").GetString());
                containers.Add(new ContainerMetrics
                {
                    Id = root.GetProperty("ID").GetString() ?? "", Name = name, CpuPercent = Percent(root.GetProperty("CPUPerc").GetString()),
                    MemoryBytes = memory, MemoryLimitBytes = limit,
                });
            }
            return (containers, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, "docker stats did not answer within 20 s");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (null, $"docker stats could not be read: {e.Message}");
        }
    }

    private static double? Percent(string? text) =>
        double.TryParse(text?.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>"12.5MiB / 1.944GiB" as bytes.</summary>
    private static (long Used, long Limit) MemoryUsage(string? text)
    {
        var parts = (text ?? "").Split('/', StringSplitOptions.TrimEntries);
        return parts.Length == 2 ? (Bytes(parts[0]), Bytes(parts[1])) : (0, 0);
    }

    private static long Bytes(string text)
    {
        var units = new (string Suffix, double Factor)[] { ("KiB", 1024), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1L << 40), ("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1) };
        foreach (var (suffix, factor) in units)
            if (text.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                return (long)(value * factor);
        return 0;
    }
}
