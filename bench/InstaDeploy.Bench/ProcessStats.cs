namespace InstaDeploy.Bench;

/// <summary>What /proc says about a process: resident memory and CPU time used.</summary>
internal static class ProcessStats
{
    private static readonly double TicksPerSecond = 100; // USER_HZ; 100 on every Linux build this runs on

    /// <summary>VmRSS in bytes, or -1 if the process is gone.</summary>
    public static long RssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim()) * 1024;
        }
        catch (IOException) { }
        return -1;
    }

    /// <summary>User plus system CPU time in seconds.</summary>
    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14 and 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / TicksPerSecond;
    }

    /// <summary>Read syscalls the process made (read, pread, readv: SQLite's page reads among them; socket receives
    /// through recv/recvmsg are not counted), from /proc/PID/io.</summary>
    public static long ReadSyscalls(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/io"))
            if (line.StartsWith("syscr:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(6).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return -1;
    }

    public static double Mib(long bytes) => bytes / 1024.0 / 1024.0;

    /// <summary>SIGTERM: a graceful stop, as systemd or an operator's Ctrl-C asks for one.</summary>
    public static void Terminate(int pid)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
