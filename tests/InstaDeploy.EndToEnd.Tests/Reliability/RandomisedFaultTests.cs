using System.Diagnostics;
using InstaDeploy.EndToEnd.Tests.Reliability.Chaos;
using Xunit.Abstractions;

namespace InstaDeploy.EndToEnd.Tests.Reliability;

/// <summary>
/// The randomised fault test (issue 22): on the real engine, seeded random sequences of deploys, stops and rollbacks of
/// three projects, interleaved with kill -9 and restarts of the control plane and the agent, SIGTERM of the agent,
/// network cuts through a proxy and steps of the agent's wall clock; after each, the control plane agrees with the
/// engine, every accepted job is final and none ran twice (<see cref="ChaosChecks"/>). CI runs one short sequence;
/// <c>eng/chaos.sh</c> runs long ones (INSTADEPLOY_CHAOS_SEQUENCES, INSTADEPLOY_CHAOS_STEPS). A failure names its seed
/// and the command that replays it.
/// </summary>
public sealed class RandomisedFaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SeededRandomDeploysStopsAndRollbacksUnderCrashesCutsAndClockStepsLeaveTheControlPlaneInLineWithTheEngine()
    {
        var settings = ChaosSettings.FromEnvironment();
        var outcomes = new List<ChaosOutcome>();
        var failures = new List<string>();
        for (var index = 0; index < settings.Sequences; index++)
        {
            var seed = settings.Seed + index;
            var started = Stopwatch.StartNew();
            await using var run = new ChaosSequence(seed, settings.Steps, index, line => output.WriteLine(line));
            ChaosOutcome? outcome = null;
            try
            {
                await run.StartAsync();
                await run.RunAsync();
                outcome = await ChaosChecks.SettleAndCheckAsync(run, started.Elapsed);
            }
            catch (Exception e)
            {
                failures.Add($"seed {seed}: the sequence broke off: {e}");
            }
            if (outcome is not null)
            {
                outcomes.Add(outcome);
                output.WriteLine(outcome.Figures);
                if (settings.ReportFile is { } report) await File.AppendAllTextAsync(report, outcome.Figures + "\n");
                if (!outcome.Passed)
                    failures.Add($"seed {seed}:\n  " + string.Join("\n  ", outcome.Mismatches.Select(m => "mismatch: " + m).Concat(outcome.Problems)));
            }
            if (outcome is null || !outcome.Passed)
            {
                var log = Path.Combine(Path.GetTempPath(), $"instadeploy-chaos-{seed}.log");
                await File.WriteAllTextAsync(log, string.Join('\n', run.Trace) + "\n\n" + run.Outputs());
                failures[^1] += $"\n  replay: {settings.ReplayCommand(seed)}\n  trace and process output: {log}";
            }
        }

        var summary = $"{outcomes.Count} sequence(s) of {settings.Steps} steps from seed {settings.Seed}: "
            + $"{outcomes.Sum(o => o.FaultCount)} faults injected, {outcomes.Sum(o => o.Accepted)} jobs, mismatches: {outcomes.Sum(o => o.Mismatches.Count)}";
        output.WriteLine(summary);
        if (settings.ReportFile is { } file) await File.AppendAllTextAsync(file, "total: " + summary + "\n");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }
}
