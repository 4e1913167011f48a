using System.Globalization;

namespace InstaDeploy.Testing;

/// <summary>
/// Steps the wall clock of an agent process, as NTP or a resumed VM does, without any setting in the product: the
/// process runs under libfaketime (Debian's <c>faketime</c> package, installed by eng/setup-faketime.sh), which reads an
/// offset from a file this class writes. Only the wall clock moves (<c>CLOCK_REALTIME</c>: <c>DateTime.UtcNow</c>,
/// <c>TimeProvider.GetUtcNow</c>); the monotonic clock (timers, <c>Stopwatch</c>, <c>TimeProvider.GetTimestamp</c>)
/// runs on, as on a real machine. The agent's child processes (docker, compose) get none of it: the agent passes them
/// only the variables they need.
/// </summary>
public sealed class AgentClock
{
    /// <summary>Where Debian puts the library.</summary>
    public static readonly string Library = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

    private readonly string _offsetFile;

    private AgentClock(string offsetFile)
    {
        _offsetFile = offsetFile;
        Write();
    }

    /// <summary>Whether clock steps can be injected on this machine.</summary>
    public static bool Available => File.Exists(Library);

    /// <summary>A clock whose offset lives in <paramref name="folder"/>, or null when libfaketime is not installed.</summary>
    public static AgentClock? TryCreate(string folder)
    {
        if (!Available) return null;
        Directory.CreateDirectory(folder);
        return new AgentClock(Path.Combine(folder, "faketime-offset"));
    }

    /// <summary>How far the agent's wall clock is from the real one now.</summary>
    public TimeSpan Offset { get; private set; }

    /// <summary>The environment an agent process needs to run on this clock.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["LD_PRELOAD"] = Library,
        ["FAKETIME_TIMESTAMP_FILE"] = _offsetFile,
        // The file is read again at most once a second, so a step takes effect within a second.
        ["FAKETIME_CACHE_DURATION"] = "1",
        ["FAKETIME_DONT_FAKE_MONOTONIC"] = "1",
    };

    /// <summary>Steps the wall clock by <paramref name="step"/> (forwards or backwards); in effect within about a second.</summary>
    public void Step(TimeSpan step)
    {
        Offset += step;
        Write();
    }

    private void Write()
    {
        var seconds = (long)Offset.TotalSeconds;
        var temporary = _offsetFile + ".tmp";
        File.WriteAllText(temporary, (seconds >= 0 ? "+" : "") + seconds.ToString(CultureInfo.InvariantCulture) + "\n");
        File.Move(temporary, _offsetFile, overwrite: true);
    }
}
