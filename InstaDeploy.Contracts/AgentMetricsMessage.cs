using System.Text.Json.Serialization;

namespace InstaDeploy.Contracts;

/// <summary>
/// Agent to control plane, with <see cref="HandshakeHeaders.FeatureAgentMetrics"/>: the host's and its containers' use of
/// CPU, memory and disk, every few seconds. At most <see cref="MaxContainers"/> containers; the control plane keeps the
/// latest per agent.
/// </summary>
public sealed record AgentMetricsMessage
{
    /// <summary>The message type tag.</summary>
    public const string MessageType = "AGENT_METRICS";
    /// <summary>Most containers one message lists.</summary>
    public const int MaxContainers = 200;

    /// <summary>Always <see cref="MessageType"/>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; init; } = MessageType;

    /// <summary>When the sample was taken, by the agent's clock.</summary>
    [JsonPropertyName("at")]
    public DateTimeOffset At { get; init; }

    /// <summary>The host's CPU use since the last sample, 0-100 % of all its cores.</summary>
    [JsonPropertyName("cpu_percent")]
    public double CpuPercent { get; init; }

    /// <summary>The host's logical CPUs.</summary>
    [JsonPropertyName("cpu_count")]
    public int CpuCount { get; init; }

    /// <summary>The host's memory (MemTotal).</summary>
    [JsonPropertyName("memory_total_bytes")]
    public long MemoryTotalBytes { get; init; }

    /// <summary>Total less what the kernel says is available (MemAvailable).</summary>
    [JsonPropertyName("memory_used_bytes")]
    public long MemoryUsedBytes { get; init; }

    /// <summary>The file system of the agent's projects folder.</summary>
    [JsonPropertyName("disk_total_bytes")]
    public long DiskTotalBytes { get; init; }

    /// <summary>Free bytes on that file system, for unprivileged users.</summary>
    [JsonPropertyName("disk_free_bytes")]
    public long DiskFreeBytes { get; init; }

    /// <summary>The running containers, or null when the Docker engine could not be read (then <see cref="ContainersError"/> says why).</summary>
    [JsonPropertyName("containers")]
    public IReadOnlyList<ContainerMetrics>? Containers { get; init; }

    /// <summary>Why the containers could not be read, when they could not.</summary>
    [JsonPropertyName("containers_error")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ContainersError { get; init; }
}

/// <summary>One running container's use.</summary>
public sealed record ContainerMetrics
{
    /// <summary>The container's id (the first 12 hex digits).</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>The container's name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>Its compose project, if compose started it.</summary>
    [JsonPropertyName("project")]
    public string? Project { get; init; }

    /// <summary>CPU since the last sample, in % of one core (as <c>docker stats</c> shows it); null on its first sample.</summary>
    [JsonPropertyName("cpu_percent")]
    public double? CpuPercent { get; init; }

    /// <summary>Memory in use, less the page cache (as docker stats counts it).</summary>
    [JsonPropertyName("memory_bytes")]
    public long MemoryBytes { get; init; }

    /// <summary>Its memory limit (the host's memory when it has none).</summary>
    [JsonPropertyName("memory_limit_bytes")]
    public long MemoryLimitBytes { get; init; }
}
