using System.Globalization;

namespace InstaDeploy.ControlPlane.WebConsole.Text;

/// <summary>How the console writes times and states.</summary>
public static class Display
{
    /// <summary>An absolute UTC time, as the API returns it but readable: 2026-12-01 10:15:09Z.</summary>
    public static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "—";

    /// <summary>A count with thousands separators: 1,000.</summary>
    public static string Count(int count) => count.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Where a page of a list starts and ends, of how many: 101–200 of 1,000.</summary>
    public static string Range(int before, int shown, int total) =>
        shown == 0 ? $"none of {Count(total)}" : $"{Count(before + 1)}–{Count(before + shown)} of {Count(total)}";

    /// <summary>How long ago, roughly: 5 s ago, 3 min ago, 2 h ago, 4 d ago.</summary>
    public static string Ago(DateTimeOffset? time, DateTimeOffset now)
    {
        if (time is not { } t) return "never";
        var age = now - t;
        if (age < TimeSpan.Zero) age = TimeSpan.Zero;
        return age.TotalSeconds < 60 ? $"{(int)age.TotalSeconds} s ago"
            : age.TotalMinutes < 60 ? $"{(int)age.TotalMinutes} min ago"
            : age.TotalHours < 48 ? $"{(int)age.TotalHours} h ago"
            : $"{(int)age.TotalDays} d ago";
    }

    /// <summary>A size in binary units, to three digits: 512 B, 1.5 KiB, 7.8 GiB.</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = Math.Max(0, bytes);
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{value:0} B" : value.ToString(value < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>A percentage: 7.5 %, 42 %.</summary>
    public static string Percent(double percent) =>
        percent.ToString(percent < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " %";

    /// <summary>The tone of a state, for its badge: ok, bad, warn, live or idle.</summary>
    public static string Tone(string? state) => state?.ToLowerInvariant() switch
    {
        "completed" or "running" or "succeeded" or "online" or "active" or "updated" => "ok",
        "failed" or "timed_out" or "stop_failed" or "rollback_failed" or "expired" or "revoked" or "offline" or "rolled_back" or "refused" => "bad",
        "degraded" or "unknown" or "paused" or "rolling_back" or "cancelled" or "skipped" or "exited" or "restarting" => "warn",
        "pending" or "sent" or "deploying" or "stopping" or "waiting" or "created" => "live",
        _ => "idle",
    };
}
