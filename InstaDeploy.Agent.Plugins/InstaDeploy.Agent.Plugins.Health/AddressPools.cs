using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace InstaDeploy.Agent.Plugins.Health;

/// <summary>An address pool of the Docker engine: <see cref="Base"/> cut into networks of prefix length <see cref="Size"/>.</summary>
public sealed record AddressPool(string Base, int Size);

/// <summary>
/// How many more networks the Docker engine can create: every compose project gets one (its <c>_default</c> network),
/// carved out of the engine's <c>default-address-pools</c>; when none is left, a deploy of a new project fails with
/// "could not find an available, non-overlapping IPv4 address pool". The pools come from the engine (<c>docker info</c>,
/// newer engines), else from its daemon.json, else they are Docker's defaults: 172.17.0.0/16 to 172.31.0.0/16 as /16s
/// and 192.168.0.0/16 as /20s, 31 networks in all. A pool network is free when it overlaps no existing network's subnet.
/// </summary>
public static class AddressPools
{
    /// <summary>Docker's built-in pools.</summary>
    public static IReadOnlyList<AddressPool> Defaults { get; } =
        [.. Enumerable.Range(17, 15).Select(i => new AddressPool($"172.{i}.0.0/16", 16)), new AddressPool("192.168.0.0/16", 20)];

    /// <summary>Most pool networks counted (a pool like 10.0.0.0/8 as /28s would be millions); past it the count is a floor.</summary>
    public const int MaxCounted = 1 << 20;

    /// <summary>The pools in a daemon.json's <c>default-address-pools</c>, or null when it sets none.</summary>
    public static IReadOnlyList<AddressPool>? FromDaemonJson(string json)
    {
        if (JsonNode.Parse(json) is not JsonObject root || root["default-address-pools"] is not JsonArray pools) return null;
        var list = new List<AddressPool>();
        foreach (var pool in pools.OfType<JsonObject>())
            if (pool["base"]?.GetValue<string>() is { } b && pool["size"] is JsonValue size && size.TryGetValue<int>(out var s)) list.Add(new AddressPool(b, s));
        return list.Count == 0 ? null : list;
    }

    /// <summary>The pools in <c>docker info --format '{{json .DefaultAddressPools}}'</c>, or null when the engine does not say.</summary>
    public static IReadOnlyList<AddressPool>? FromDockerInfo(string json)
    {
        if (JsonNode.Parse(json) is not JsonArray pools) return null;
        var list = new List<AddressPool>();
        foreach (var pool in pools.OfType<JsonObject>())
            if (pool["Base"]?.GetValue<string>() is { } b && pool["Size"] is JsonValue size && size.TryGetValue<int>(out var s)) list.Add(new AddressPool(b, s));
        return list.Count == 0 ? null : list;
    }

    /// <summary>How many networks of the pools overlap none of <paramref name="subnetsInUse"/> (IPv4 CIDRs; others are ignored).</summary>
    public static int Available(IReadOnlyList<AddressPool> pools, IEnumerable<string> subnetsInUse)
    {
        var used = subnetsInUse.Select(Parse).Where(s => s is not null).Select(s => s!.Value).ToList();
        var free = 0;
        foreach (var pool in pools)
        {
            if (Parse(pool.Base) is not var (start, prefix) || pool.Size < prefix || pool.Size > 32) continue;
            var step = 1UL << (32 - pool.Size);
            var end = (ulong)start + (1UL << (32 - prefix));
            for (var network = (ulong)start; network < end && free < MaxCounted; network += step)
                if (!used.Any(u => Overlaps((uint)network, pool.Size, u.Start, u.Prefix))) free++;
        }
        return free;
    }

    private static bool Overlaps(uint a, int aPrefix, uint b, int bPrefix)
    {
        var prefix = Math.Min(aPrefix, bPrefix);
        var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
        return (a & mask) == (b & mask);
    }

    private static (uint Start, int Prefix)? Parse(string cidr)
    {
        var slash = cidr.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(cidr[..slash], out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || !int.TryParse(cidr[(slash + 1)..], out var prefix) || prefix is < 0 or > 32) return null;
        var bytes = address.GetAddressBytes();
        var value = (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
        var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
        return (value & mask, prefix);
    }

    /// <summary>Reads the engine's pools and its networks' subnets, and reports how many networks it can still create.</summary>
    public static async Task<JsonObject> ReportAsync(string docker, string daemonJsonPath, CancellationToken cancellationToken)
    {
        var info = await ProcessRunner.RunAsync(docker, ["info", "--format", "{{json .DefaultAddressPools}}"], null, cancellationToken);
        IReadOnlyList<AddressPool>? pools = null;
        var source = "engine";
        try
        {
            if (info.ExitCode == 0) pools = FromDockerInfo(string.Join('\n', info.StandardOutput));
        }
        catch (JsonException)
        {
        }
        if (pools is null)
        {
            source = daemonJsonPath;
            try
            {
                pools = File.Exists(daemonJsonPath) ? FromDaemonJson(await File.ReadAllTextAsync(daemonJsonPath, cancellationToken)) : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException)
            {
            }
        }
        if (pools is null) (pools, source) = (Defaults, "docker defaults");

        var ids = await ProcessRunner.RunAsync(docker, ["network", "ls", "--quiet", "--no-trunc"], null, cancellationToken);
        if (ids.ExitCode != 0) throw new InvalidOperationException("docker network ls failed: " + string.Join(' ', ids.StandardErrorTail));
        var subnets = new List<string>();
        foreach (var chunk in ids.StandardOutput.Where(l => l.Trim().Length > 0).Chunk(200))
        {
            var inspect = await ProcessRunner.RunAsync(docker, ["network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", .. chunk], null, cancellationToken);
            // A network removed between the two calls fails the inspect of that one only; the others still print.
            subnets.AddRange(inspect.StandardOutput.SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        }
        var available = Available(pools, subnets);
        return new JsonObject
        {
            ["pools"] = new JsonArray([.. pools.Select(p => (JsonNode)new JsonObject { ["base"] = p.Base, ["size"] = p.Size })]),
            ["pools_from"] = source,
            ["networks"] = ids.StandardOutput.Count(l => l.Trim().Length > 0),
            ["subnets_in_use"] = new JsonArray([.. subnets.Distinct().Order(StringComparer.Ordinal).Select(s => (JsonNode)JsonValue.Create(s))]),
            ["available"] = available,
        };
    }
}
