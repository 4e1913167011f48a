using System.Globalization;

namespace InstaDeploy.EndToEnd.Tests.Reliability.Chaos;

/// <summary>
/// How the randomised fault test runs, from the environment: <c>INSTADEPLOY_CHAOS_SEED</c> (the first sequence's seed;
/// random when unset), <c>INSTADEPLOY_CHAOS_STEPS</c> (operations per sequence), <c>INSTADEPLOY_CHAOS_SEQUENCES</c>, and
/// <c>INSTADEPLOY_CHAOS_REPORT</c> (a file each sequence's figures are appended to). The defaults are CI's short run.
/// </summary>
public sealed record ChaosSettings(int Seed, int Steps, int Sequences, string? ReportFile, bool SeedGiven)
{
    public const int DefaultSteps = 12;

    public static ChaosSettings FromEnvironment()
    {
        var seedText = Environment.GetEnvironmentVariable("INSTADEPLOY_CHAOS_SEED");
        var given = int.TryParse(seedText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed);
        if (!given) seed = Random.Shared.Next(1, int.MaxValue / 2);
        return new ChaosSettings(
            seed,
            Positive("INSTADEPLOY_CHAOS_STEPS", DefaultSteps),
            Positive("INSTADEPLOY_CHAOS_SEQUENCES", 1),
            Environment.GetEnvironmentVariable("INSTADEPLOY_CHAOS_REPORT") is { Length: > 0 } report ? report : null,
            given);
    }

    private static int Positive(string name, int fallback)
    {
        var text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(text)) return fallback;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new InvalidOperationException($"{name} must be a whole number above 0, not '{text}'");
    }

    /// <summary>The command that replays one sequence.</summary>
    public string ReplayCommand(int seed) => $"INSTADEPLOY_CHAOS_SEED={seed} INSTADEPLOY_CHAOS_STEPS={Steps} bash eng/chaos.sh";
}
