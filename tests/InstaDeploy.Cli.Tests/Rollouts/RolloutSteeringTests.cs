using System.Text.Json;
using System.Text.RegularExpressions;

namespace InstaDeploy.Cli.Tests.Rollouts;

/// <summary>
/// Canaries and promote, pause, resume, cancel, failures, and a watch through a cut network, against the real control
/// plane with simulated agents speaking the wire protocol (their timing and failures are the test's to set).
/// </summary>
[Collection(RolloutCollection.Name)]
public sealed class RolloutSteeringTests(RolloutFleetFixture fleet) : IDisposable
{
    private readonly string _compose = Path.Combine(Directory.CreateTempSubdirectory("instadeploy-cli-steer-").FullName, "docker-compose.yml");

    private string Compose()
    {
        File.WriteAllText(_compose, RolloutFleetFixture.Compose("1"));
        return _compose;
    }

    private async Task<JsonElement> WaitAsync(string id, Func<JsonElement, bool> until, string what)
    {
        JsonElement rollout = default;
        await Eventually.TrueAsync(async () => until(rollout = await fleet.RolloutAsync(id)), TimeSpan.FromSeconds(60), $"rollout {id} {what}");
        return rollout;
    }

    private static int Count(JsonElement rollout, string state) => rollout.GetProperty("counts").GetProperty(state).GetInt32();

    [Fact]
    public async Task ACanaryStepStopsAtThePromotionGateResumeIsRefusedAndPromoteTakesItToTheEnd()
    {
        using var user = await fleet.LoggedInUserAsync();
        var project = CliFixture.UniqueProject("canary");

        var canary = await user.RunAsync("deploy", "-f", Compose(), "-p", project, "--selector", "role=sim", "--canary", "1", "--max-parallel", "25%",
            "--follow", "--until-promotion", "-o", "json");
        Assert.True(canary.ExitCode == 0, canary.ToString());
        var waiting = CliFixture.Json(canary.Stdout);
        var id = waiting.GetProperty("rollout_id").GetString()!;
        Assert.True(waiting.GetProperty("awaiting_promotion").GetBoolean(), canary.Stdout);
        Assert.Equal(("paused", 1, 5), (waiting.GetProperty("state").GetString(), Count(waiting, "succeeded"), Count(waiting, "waiting")));
        Assert.Contains("sim-0 succeeded", canary.Stderr);
        Assert.DoesNotContain("sim-1 deploying", canary.Stderr);
        Assert.Contains($"Rollout {id} waits for promotion: 1 of 1 canaries succeeded", canary.Stderr);
        Assert.Contains($"`instadeploy rollouts promote {id}`", canary.Stderr);
        Assert.Equal(2, waiting.GetProperty("strategy").GetProperty("max_parallel").GetInt32()); // 25% of 6, rounded up

        var resume = await user.RunAsync("rollouts", "resume", id);
        Assert.Equal(1, resume.ExitCode);
        Assert.Contains("Cannot resume the rollout (409)", resume.Stderr);
        Assert.Contains("promote", resume.Stderr);
        var shown = await user.RunAsync("rollouts", "show", id);
        Assert.Matches(@"awaiting promotion\s+yes", shown.Stdout);
        Assert.Contains($"`instadeploy rollouts promote {id}` deploys the other targets", shown.Stderr);

        var promote = await user.RunAsync("rollouts", "promote", id, "-o", "json");
        Assert.True(promote.ExitCode == 0, promote.ToString());
        Assert.True(CliFixture.Json(promote.Stdout).GetProperty("strategy").GetProperty("promoted").GetBoolean());
        var watched = await user.RunAsync("rollouts", "show", id, "--watch");
        Assert.True(watched.ExitCode == 0, watched.ToString());
        Assert.Contains($"Rollout {id} succeeded: 6/6 done (6 succeeded)", watched.Stderr);
        var again = await user.RunAsync("rollouts", "promote", id);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains($"Rollout {id} is succeeded", again.Stderr);
    }

    [Fact]
    public async Task AWatchWaitsThroughAManualPauseAndExits1WhenTheRolloutIsCancelled()
    {
        using var user = await fleet.LoggedInUserAsync();
        var project = CliFixture.UniqueProject("steer");
        var started = await user.RunAsync("deploy", "-f", Compose(), "-p", project, "--selector", "role=sim", "--batch-wait", "30", "-q");
        Assert.True(started.ExitCode == 0, started.ToString());
        var id = started.Stdout.Trim();
        var watching = user.RunAsync("rollouts", "show", id, "--watch");
        var first = await WaitAsync(id, r => Count(r, "succeeded") == 1, "to deploy its first target and wait between batches");
        // A watch that starts now says where the target that already ended stands: its change is before the events it reads.
        var late = user.RunAsync("rollouts", "show", id, "--watch");
        var done = first.GetProperty("targets").EnumerateArray().Single(t => t.GetProperty("state").GetString() == "succeeded");

        var paused = await user.RunAsync("rollouts", "pause", id);
        Assert.True(paused.ExitCode == 0, paused.ToString());
        Assert.Contains($"Rollout {id}: pause done. Now rollout {id} paused: 1/6 done (1 succeeded); paused by", paused.Stderr);
        Assert.Contains($"`instadeploy rollouts resume {id}` goes on", paused.Stderr);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.False(watching.IsCompleted, "a manual pause is waited through");
        Assert.Equal(0, (await user.RunAsync("rollouts", "resume", id)).ExitCode);
        var cancelled = await user.RunAsync("rollouts", "cancel", id, "-o", "json");
        Assert.True(cancelled.ExitCode == 0, cancelled.ToString());
        Assert.Equal("cancelled", CliFixture.Json(cancelled.Stdout).GetProperty("state").GetString());

        var watched = await watching;
        Assert.True(watched.ExitCode == 1, watched.ToString());
        Assert.Contains($"rollout {id} paused: 1/6 done (1 succeeded); paused by", watched.Stderr);
        Assert.Contains($"error: Rollout {id} ended cancelled: cancelled by", watched.Stderr);
        Assert.Matches(@"sim-5\s+\d+\s+cancelled", watched.Stdout);
        var joined = await late;
        Assert.True(joined.ExitCode == 1, joined.ToString());
        Assert.Single(Regex.Matches(joined.Stderr,
            $@"^  {done.GetProperty("agent_id").GetString()} succeeded \(revision \d+, job {done.GetProperty("job_id").GetString()}\)$", RegexOptions.Multiline));
        var twice = await user.RunAsync("rollouts", "cancel", id);
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("Cannot cancel the rollout (409)", twice.Stderr);
    }

    [Fact]
    public async Task AFailurePauseExits1AndAResumedRolloutWithAFailedTargetEndsFailed()
    {
        using var user = await fleet.LoggedInUserAsync();
        var project = "fail-" + CliFixture.UniqueProject("p");
        fleet.Failing[2] = true;
        try
        {
            var paused = await user.RunAsync("deploy", "-f", Compose(), "-p", project, "--selector", "role=sim", "--follow");
            Assert.True(paused.ExitCode == 1, paused.ToString());
            Assert.True(paused.Stderr.Contains("  sim-2 failed: FAILED: container web is unhealthy", StringComparison.Ordinal), paused.ToString());
            var id = Regex.Match(paused.Stderr, @"rollout (ro-[0-9a-f]+)").Groups[1].Value;
            Assert.Contains($"error: Rollout {id} paused with 1 failed target(s): 1 of 6 targets failed (max_failures 1); first: sim-2: FAILED: container web is unhealthy", paused.Stderr);
            Assert.Contains($"`instadeploy rollouts resume {id}` accepts the failures and goes on", paused.Stderr);
            Assert.Equal(3, Count(await fleet.RolloutAsync(id), "waiting"));

            Assert.Equal(0, (await user.RunAsync("rollouts", "resume", id)).ExitCode);
            var ended = await user.RunAsync("rollouts", "show", id, "--watch", "-o", "json");
            Assert.True(ended.ExitCode == 1, ended.ToString());
            var rollout = CliFixture.Json(ended.Stdout);
            Assert.Equal(("failed", 5, 1), (rollout.GetProperty("state").GetString(), Count(rollout, "succeeded"), Count(rollout, "failed")));
            Assert.Contains($"error: Rollout {id} ended failed: 1 of 6 targets failed", ended.Stderr);
        }
        finally
        {
            fleet.Failing.TryRemove(2, out _);
        }
    }

    [Fact]
    public async Task NamedAgentsGoInTheOrderGivenAndAnOfflineOneFailsAtItsQueueExpiry()
    {
        using var user = await fleet.LoggedInUserAsync();
        await fleet.Simulated.StopAgentAsync(RolloutFleetFixture.SimAgent(5));
        try
        {
            await Eventually.TrueAsync(async () => !(await fleet.Api.GetJsonAsync("/agents/sim-5")).GetProperty("online").GetBoolean(),
                TimeSpan.FromSeconds(30), "sim-5 to be offline");
            var result = await user.RunAsync("deploy", "-f", Compose(), "-p", CliFixture.UniqueProject("named"),
                "--agent", "sim-1", "--agent", "sim-5", "--agent", "sim-0", "--max-parallel", "3", "--max-failures", "2", "--on-failure", "continue",
                "--queue-ttl", "2", "--timeout", "120", "--follow", "-o", "json");
            Assert.True(result.ExitCode == 1, result.ToString());
            var rollout = CliFixture.Json(result.Stdout);
            Assert.Equal(JsonValueKind.Null, rollout.GetProperty("selector").ValueKind);
            Assert.Equal(["sim-1", "sim-5", "sim-0"], rollout.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("agent_id").GetString()));
            var offline = rollout.GetProperty("targets")[1];
            Assert.Equal(("failed", "EXPIRED"), (offline.GetProperty("state").GetString(), offline.GetProperty("job_status").GetString()));
            Assert.Equal(("failed", 2), (rollout.GetProperty("state").GetString(), Count(rollout, "succeeded")));
            Assert.Contains("  sim-5 failed: ", result.Stderr);
            Assert.Contains("ended failed: 1 of 3 targets failed", result.Stderr);
        }
        finally
        {
            fleet.Simulated.Start(RolloutFleetFixture.SimAgent(5), "role=sim,index=5");
            await fleet.Simulated.WaitConnectedAsync(RolloutFleetFixture.SimulatedCount, TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task AWatchThroughACutNetworkResumesTheEventsAndShowsEachChangeOnce()
    {
        using var user = new CliUser();
        await using var proxy = new TcpCutProxy(fleet.Url.Port);
        await user.LogInAsync("via-proxy", new Uri($"http://127.0.0.1:{proxy.Port}"), ControlPlaneFactory.AdminApiKey);
        fleet.Simulated.DeployTime = TimeSpan.FromSeconds(1);
        try
        {
            var started = await user.RunAsync("deploy", "-f", Compose(), "-p", CliFixture.UniqueProject("cut"), "--selector", "role=sim", "-q");
            Assert.True(started.ExitCode == 0, started.ToString());
            var id = started.Stdout.Trim();
            var watching = user.RunAsync("rollouts", "show", id, "--watch");
            await WaitAsync(id, r => Count(r, "succeeded") >= 1, "to deploy its first target");
            proxy.Cut();
            await WaitAsync(id, r => Count(r, "succeeded") >= 3, "to deploy two more targets while the watch is cut off");
            proxy.Restore();
            var watched = await watching;

            Assert.True(watched.ExitCode == 0, watched.ToString());
            for (var i = 0; i < RolloutFleetFixture.SimulatedCount; i++)
            {
                Assert.Single(Regex.Matches(watched.Stderr, $@"^  sim-{i} deploying \(job job-\S+\)$", RegexOptions.Multiline));
                Assert.Single(Regex.Matches(watched.Stderr, $@"^  sim-{i} succeeded", RegexOptions.Multiline));
            }
            Assert.Contains($"Rollout {id} succeeded: 6/6 done (6 succeeded)", watched.Stderr);
        }
        finally
        {
            fleet.Simulated.DeployTime = TimeSpan.FromMilliseconds(300);
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(Path.GetDirectoryName(_compose)!, recursive: true); } catch (IOException) { }
    }
}
