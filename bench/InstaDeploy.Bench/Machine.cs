using System.Diagnostics;

namespace InstaDeploy.Bench;

/// <summary>The machine a run happened on, for the results file (figures mean little without it).</summary>
internal static class Machine
{
    public static Dictionary<string, string> Describe() => new()
    {
        ["cores (nproc)"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["cpu"] = FirstValue("/proc/cpuinfo", "model name") ?? "unknown",
        ["memory"] = FirstValue("/proc/meminfo", "MemTotal") ?? "unknown",
        ["kernel"] = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : Environment.OSVersion.ToString(),
        [".NET SDK"] = Run("dotnet", "--version"),
        [".NET runtime (bench)"] = Environment.Version.ToString(),
        ["load average at the start (1/5/15 min)"] = LoadAverage(),
        ["open files limit"] = Run("/bin/sh", "-c", "ulimit -n"),
    };

    public static string LoadAverage() => File.Exists("/proc/loadavg")
        ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static string? FirstValue(string path, string key) => File.Exists(path)
        ? File.ReadLines(path).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
        : null;

    private static string Run(string program, params string[] arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true })!;
            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
